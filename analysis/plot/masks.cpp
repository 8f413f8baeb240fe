#include "analysis/plot/masks.h"

#include <limits>
#include <map>

#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::plot {

MaskMode parse_mask_mode(const std::string& text) {
  // The grammar is shared with the forward's --mask (models/util/spec.h); a picture has no model family,
  // so "default" is causal and a window without a direction is causal.
  if (text.empty())
    throw InputError("mask mode '': expected causal, bidirectional, packed:LEN,..., lm-infinite:G:L[:LIMIT|none] or window:W");
  const spec::MaskSpec sp = spec::parse_mask(text, "mask mode");
  MaskMode m;
  switch (sp.kind) {
    case spec::MaskSpec::Kind::Default:
    case spec::MaskSpec::Kind::Causal: m.kind = MaskMode::causal; break;
    case spec::MaskSpec::Kind::Bidirectional: m.kind = MaskMode::bidirectional; break;
    case spec::MaskSpec::Kind::LmInfinite: m.kind = MaskMode::lm_infinite; break;
    case spec::MaskSpec::Kind::Window: m.kind = MaskMode::sliding_window; break;
  }
  m.n_global = sp.n_global, m.local = sp.local, m.limit = sp.limit, m.window = sp.window, m.packed = sp.packed;
  m.causal_window = sp.direction >= 0;
  return m;
}

std::string describe(const MaskMode& m) {
  std::string s;
  switch (m.kind) {
    case MaskMode::causal: s = "causal"; break;
    case MaskMode::bidirectional: s = "bidirectional"; break;
    case MaskMode::lm_infinite:
      // Capped keys sit at i - j >= L, so with the default cap (LIMIT = L) they are all scored at distance L.
      s = "LM-Infinite \u039b (G=" + std::to_string(m.n_global) + ", L=" + std::to_string(m.local) +
          (m.limit <= 0 ? "; no distance cap)"
                        : ", amber: cap " +
                              (m.limit == m.local ? std::to_string(m.limit) : "min(" + std::to_string(m.limit) + ", i)") + ")");
      break;
    case MaskMode::sliding_window:
      s = std::string(m.causal_window ? "causal" : "symmetric") + " window (W=" + std::to_string(m.window) + ")";
      break;
  }
  if (!m.packed.empty()) s = "prepacked " + s + " (" + std::to_string(m.packed.size()) + " sequences)";
  return s;
}

std::vector<int64_t> segment_ids(const MaskMode& m, int64_t n) {
  if (n < 0) throw InputError("mask: n must be >= 0");
  if (m.packed.empty()) return std::vector<int64_t>(size_t(n), 0);
  std::vector<int64_t> seg;
  seg.reserve(size_t(n));
  for (size_t k = 0; k < m.packed.size(); ++k) {
    for (int64_t t = 0; t < m.packed[k]; ++t) seg.push_back(int64_t(k));
  }
  if (int64_t(seg.size()) > n)
    throw InputError("mask: packed lengths sum to " + std::to_string(seg.size()) + " > n = " + std::to_string(n));
  seg.resize(size_t(n), -1);
  return seg;
}

std::vector<uint8_t> capped_matrix(const std::vector<int64_t>& seg, const MaskMode& m) {
  std::vector<uint8_t> out = mask_matrix(seg, m);
  if (m.kind != MaskMode::lm_infinite || m.limit <= 0) return std::vector<uint8_t>(out.size(), 0);
  const size_t n = seg.size();
  std::vector<int64_t> pos(n, 0);
  std::map<int64_t, int64_t> seen;
  for (size_t i = 0; i < n; ++i) pos[i] = seg[i] >= 0 ? seen[seg[i]]++ : 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)  // the global branch: outside the local band
      if (out[i * n + j]) out[i * n + j] = pos[i] - pos[j] >= m.local ? 1 : 0;
  return out;
}

std::vector<uint8_t> mask_matrix(const std::vector<int64_t>& seg, const MaskMode& m) {
  const size_t n = seg.size();
  // Within-segment position: how many earlier positions share the segment (ids need not be contiguous).
  std::vector<int64_t> pos(n, 0);
  std::map<int64_t, int64_t> seen;
  for (size_t i = 0; i < n; ++i) pos[i] = seg[i] >= 0 ? seen[seg[i]]++ : 0;
  std::vector<uint8_t> out(n * n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (seg[i] < 0 || seg[i] != seg[j]) continue;
      const int64_t pi = pos[i], pj = pos[j];
      bool ok = false;
      switch (m.kind) {
        case MaskMode::causal: ok = pj <= pi; break;
        case MaskMode::bidirectional: ok = true; break;
        case MaskMode::lm_infinite: ok = pj <= pi && (pj < m.n_global || pi - pj < m.local); break;
        case MaskMode::sliding_window:
          ok = (pi > pj ? pi - pj : pj - pi) < m.window && (!m.causal_window || pj <= pi);
          break;
      }
      out[i * n + j] = ok ? 1 : 0;
    }
  }
  return out;
}

MaskPanel mask_panel(const MaskMode& m, int64_t n) {
  if (n <= 0) {
    n = 0;
    for (int64_t len : m.packed) n += len;
  }
  if (n <= 0) throw InputError("mask: need n >= 1 positions");
  if (n > 4096) throw InputError("mask: n = " + std::to_string(n) + " is too many positions to draw (at most 4096)");
  MaskPanel p;
  p.title = describe(m);
  p.n = n;
  const auto seg = segment_ids(m, n);
  p.allowed = mask_matrix(seg, m);
  if (m.kind == MaskMode::lm_infinite && m.limit > 0) p.capped = capped_matrix(seg, m);
  int64_t at = 0;
  for (size_t k = 0; k + 1 < m.packed.size(); ++k) p.segment_starts.push_back(at += m.packed[k]);
  // Padding after the last sequence starts a visible region too.
  if (!m.packed.empty() && (at += m.packed.back()) < n) p.segment_starts.push_back(at);
  return p;
}

}  // namespace ps::plot
