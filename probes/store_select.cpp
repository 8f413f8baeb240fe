// Which snippets and layers a probe run uses: seeded splits by snippet id, layer specs.
#include <limits>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "models/util/error.h"
#include "probes/store_data.h"
#include "probes/fit_loop.h"
#include "models/util/spec.h"

namespace ps::probes {

Split split_of(const std::string& id, const SplitOptions& o) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : id) h = (h ^ ch) * 1099511628211ULL;
  const double x = static_cast<double>(mix64(h ^ mix64(o.seed)) >> 11) * 0x1.0p-53;
  const double sum = o.train + o.valid + o.test;
  if (x < o.train / sum) return Split::train;
  if (x < (o.train + o.valid) / sum) return Split::valid;
  return Split::test;
}

void parse_split(const std::string& text, SplitOptions& o) {
  if (text == "corpus") {
    o.corpus = true;
    return;
  }
  o.corpus = false;
  const std::vector<double> v = spec::number_list(text, "--split");
  if (v.size() != 3) throw InputError("--split: expected three fractions train,valid,test, got '" + text + "'");
  for (double f : v)
    if (!(f >= 0) || !std::isfinite(f)) throw InputError("--split: fractions must be non-negative");
  if (v[0] <= 0 || v[1] <= 0 || v[2] <= 0) throw InputError("--split: every split needs a positive fraction");
  o.train = v[0], o.valid = v[1], o.test = v[2];
}

int hidden_states_count(const store::StoreReader& r) {
  const auto it = r.manifest().find("n_layers");
  if (it == r.manifest().end()) return 0;
  int64_t n = 0;
  return spec::try_int(it->second, n) && n >= 0 && n < (1 << 16) ? static_cast<int>(n) + 1 : 0;
}

std::vector<int> resolve_layers(const std::string& spec, const std::vector<int>& stored, const std::string& path,
                                int n_hidden) {
  if (stored.empty()) throw InputError(where(path, "no word-level activations (/acts/words/layer_L)"));
  if (spec == "all" || spec.empty()) return stored;
  std::vector<int> out;
  std::stringstream ss(spec);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int64_t L64 = 0;
    if (!spec::try_int(part, L64) || L64 < -(1 << 16) || L64 > (1 << 16))
      throw InputError("--layers: '" + part + "' is not a layer number (use all, 0,4,8 or -1)");
    int L = static_cast<int>(L64);
    if (L < 0 && n_hidden > 0)
      L = n_hidden + L;  // the model's convention: -1 = the last hidden state
    else if (L < 0)
      L = -L <= static_cast<int>(stored.size()) ? stored[stored.size() + L] : stored.front() - 1;
    if (std::find(stored.begin(), stored.end(), L) == stored.end())
      throw InputError(where(path, "layer " + part + " is not stored (stored: " + [&] {
                                     std::string s;
                                     for (int x : stored) s += (s.empty() ? "" : ",") + std::to_string(x);
                                     return s;
                                   }() + ")"));
    if (std::find(out.begin(), out.end(), L) == out.end()) out.push_back(L);
  }
  return out;
}

}  // namespace ps::probes
