// Which snippets a probe run uses: seeded splits by snippet id (layers: StoreReader::resolve_layers).
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

}  // namespace ps::probes
