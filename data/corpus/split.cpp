#include <limits>
#include <cmath>
#include <sstream>

#include "data/corpus/split.h"
#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::corpus {

std::array<double, 3> parse_fractions(const std::string& text) {
  std::array<double, 3> f{};
  const std::vector<double> v = spec::number_list(text, "--split");
  if (v.size() != 3) throw InputError("--split: expected three fractions train,valid,test, got '" + text + "'");
  for (int n = 0; n < 3; ++n) {
    f[n] = v[n];
    if (!(f[n] >= 0)) throw InputError("--split: fractions must be >= 0, got '" + std::to_string(f[n]) + "'");
  }
  double sum = f[0] + f[1] + f[2];
  if (!(sum > 0)) throw InputError("--split: fractions sum to 0");
  for (auto& x : f) x /= sum;
  return f;
}

std::string normalize_code(const std::string& code) {
  std::string out;
  out.reserve(code.size());
  bool space = false;
  for (char ch : code) {
    bool ws = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
    if (ws) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  return out;
}

uint64_t hash64(const std::string& data, uint64_t seed) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t z = h ^ (seed + 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int split_for_hash(uint64_t h, const std::array<double, 3>& fractions) {
  double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
  if (u < fractions[0]) return 0;
  if (u < fractions[0] + fractions[1]) return 1;
  // Rounding must not leak into "test" when its fraction is zero.
  return fractions[2] > 0 ? 2 : (fractions[1] > 0 ? 1 : 0);
}

}  // namespace ps::corpus
