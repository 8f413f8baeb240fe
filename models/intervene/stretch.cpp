#include "models/intervene/stretch.h"

#include <ATen/ATen.h>

#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::models {

StretchSpec parse_stretch_spec(const std::string& text, const std::string& setting) {
  StretchSpec s;
  for (const auto& item : spec::split_list(text, setting)) {
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      throw InputError(setting + " '" + text + "': expected keep=K,factor=F (got '" + item + "')");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "keep") s.keep = spec::to_int(value, setting + " keep", 0);
    else if (key == "factor") s.factor = spec::to_int(value, setting + " factor", 1);
    else throw InputError(setting + " '" + text + "': unknown key '" + key + "' (expected keep and factor)");
  }
  return s;
}

int64_t stretched_rows(int64_t rows, const StretchSpec& s) {
  if (rows < 2) throw InputError("stretching positions needs a table of at least 2 rows (got " + std::to_string(rows) + ")");
  if (s.factor < 1) throw InputError("stretch factor must be at least 1 (got " + std::to_string(s.factor) + ")");
  if (s.keep < 0 || s.keep > rows - 1)
    throw InputError("stretch keep=" + std::to_string(s.keep) + ": must lie in 0.." + std::to_string(rows - 1) +
                     " for a table of " + std::to_string(rows) + " positions");
  return s.factor * rows - (s.factor - 1) * s.keep;
}

at::Tensor stretch_table(const at::Tensor& table, const StretchSpec& s) {
  if (table.dim() != 2) throw InputError("stretch_table: expected a [rows, dim] table");
  const int64_t L = table.size(0), k = s.keep, lam = s.factor;
  const int64_t n = stretched_rows(L, s);
  const auto P = table.to(at::kDouble);
  auto out = at::empty({n, table.size(1)}, P.options());
  out.slice(0, 0, k).copy_(P.slice(0, 0, k));
  // Interpolated gaps, all at once: rows k + λi + m for i = 0..L−k−2. m = 0 copies P[k+i] exactly.
  const int64_t gaps = L - k - 1;
  if (gaps > 0) {
    const auto lo = P.slice(0, k, L - 1), hi = P.slice(0, k + 1, L);  // [gaps, D]
    auto block = out.slice(0, k, k + lam * gaps).view({gaps, lam, table.size(1)});
    block.select(1, 0).copy_(lo);
    for (int64_t m = 1; m < lam; ++m) block.select(1, m).copy_((double(lam - m) * lo + double(m) * hi) / double(lam));
  }
  // The last λ rows extrapolate the final step P[L−1] − P[L−2].
  const auto last = P[L - 1], step = P[L - 1] - P[L - 2];
  const int64_t tail = k + lam * gaps;
  out[tail].copy_(last);
  for (int64_t m = 1; m < lam; ++m) out[tail + m].copy_(last + double(m) * step / double(lam));
  return out.to(table.scalar_type());
}

at::Tensor stretch_position_table(const at::Tensor& table, int64_t offset, const StretchSpec& s) {
  if (offset < 0 || offset >= table.size(0)) throw InputError("stretch: position offset outside the table");
  if (offset == 0) return stretch_table(table, s);
  return at::cat({table.slice(0, 0, offset), stretch_table(table.slice(0, offset), s)}, 0);
}

}  // namespace ps::models
