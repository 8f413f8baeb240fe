#include "models/config/rope_scaling.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::models {

using nlohmann::json;

namespace {

enum class Kind { Number, Integer, Boolean, List };

// The keys each type reads (HF's required + optional keys; clex's are CLEX's own names).
const std::map<std::string, std::map<std::string, Kind>>& keys_by_type() {
  static const std::map<std::string, std::map<std::string, Kind>> k = {
      {"linear", {{"factor", Kind::Number}}},
      {"dynamic", {{"factor", Kind::Number}, {"original_max_position_embeddings", Kind::Integer}}},
      {"yarn",
       {{"factor", Kind::Number}, {"attention_factor", Kind::Number}, {"beta_fast", Kind::Number},
        {"beta_slow", Kind::Number}, {"mscale", Kind::Number}, {"mscale_all_dim", Kind::Number},
        {"original_max_position_embeddings", Kind::Integer}, {"truncate", Kind::Boolean}}},
      {"llama3",
       {{"factor", Kind::Number}, {"low_freq_factor", Kind::Number}, {"high_freq_factor", Kind::Number},
        {"original_max_position_embeddings", Kind::Integer}}},
      {"longrope",
       {{"factor", Kind::Number}, {"attention_factor", Kind::Number}, {"original_max_position_embeddings", Kind::Integer},
        {"short_factor", Kind::List}, {"long_factor", Kind::List}}},
      {"clex", {{"factor", Kind::Number}, {"max_factor", Kind::Integer}, {"original_max_position_embeddings", Kind::Integer}}},
  };
  return k;
}

[[noreturn]] void spec_fail(const std::string& where, const std::string& problem);

std::string type_list() {
  std::string s = "none";
  for (const auto& [t, _] : keys_by_type()) s += ", " + t;
  return s;
}

// Typed access to the rope_scaling object; errors "<source>: field 'rope_scaling.<key>': problem".
struct Rs {
  const json& j;
  const std::string& src;
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw InputError(src + ": field 'rope_scaling" + (key.empty() ? "" : "." + key) + "': " + problem);
  }
  bool has(const std::string& k) const { return j.contains(k) && !j.at(k).is_null(); }
  double number(const std::string& k, double dflt) const {
    if (!has(k)) return dflt;
    const json& v = j.at(k);
    if (!v.is_number()) fail(k, std::string("expected a number, got ") + v.type_name());
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(k, "must be finite");
    return x;
  }
  double positive(const std::string& k, double dflt) const {
    const double x = number(k, dflt);
    if (!(x > 0)) fail(k, "must be positive, got " + j.at(k).dump());
    return x;
  }
  int64_t count(const std::string& k, int64_t dflt) const {
    if (!has(k)) return dflt;
    const json& v = j.at(k);
    if (!v.is_number_integer()) fail(k, std::string("expected an integer, got ") + v.type_name());
    const int64_t x = v.get<int64_t>();
    if (x <= 0 || x > (int64_t(1) << 31)) fail(k, "must be a positive integer below 2^31, got " + v.dump());
    return x;
  }
  bool boolean(const std::string& k, bool dflt) const {
    if (!has(k)) return dflt;
    const json& v = j.at(k);
    if (!v.is_boolean()) fail(k, std::string("expected true/false, got ") + v.type_name());
    return v.get<bool>();
  }
  std::vector<double> list(const std::string& k, size_t n) const {
    if (!has(k)) fail(k, "missing (longrope needs short_factor and long_factor)");
    const json& v = j.at(k);
    if (!v.is_array()) fail(k, std::string("expected a list of numbers, got ") + v.type_name());
    if (v.size() != n)
      fail(k, "has " + std::to_string(v.size()) + " entries; head_dim/2 = " + std::to_string(n) + " are needed");
    std::vector<double> out;
    for (const auto& x : v) {
      if (!x.is_number() || !(x.get<double>() > 0) || !std::isfinite(x.get<double>()))
        fail(k, "every entry must be a positive number, got " + x.dump());
      out.push_back(x.get<double>());
    }
    return out;
  }
};

// A defaulted ArchSpec's RoPE fields (rope_theta is the checkpoint's, not scaling).
void reset(ArchSpec& a) {
  const ArchSpec d;
  a.rope_scaling = d.rope_scaling;
  a.rope_factor = d.rope_factor;
  a.rope_attention_factor = d.rope_attention_factor;
  a.rope_low_freq_factor = d.rope_low_freq_factor;
  a.rope_high_freq_factor = d.rope_high_freq_factor;
  a.rope_original_max_positions = a.max_position_embeddings;
  a.rope_beta_fast = d.rope_beta_fast;
  a.rope_beta_slow = d.rope_beta_slow;
  a.rope_truncate = d.rope_truncate;
  a.rope_short_factor.clear();
  a.rope_long_factor.clear();
  a.rope_max_factor = d.rope_max_factor;
  a.rope_scaling_json.clear();
  if (a.positional == PositionalKind::Rotary) a.max_positions = a.max_position_embeddings;
}

void spec_fail(const std::string& where, const std::string& problem) {
  throw InputError(where + ": " + problem + " (grammar TYPE:factor[:key=value...], TYPE one of " + type_list() +
                   "; e.g. yarn:4)");
}

// YaRN's get_mscale.
double yarn_mscale(double scale, double mscale = 1.0) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

}  // namespace

const char* rope_scaling_name(RopeScaling t) {
  switch (t) {
    case RopeScaling::None: return "none";
    case RopeScaling::Linear: return "linear";
    case RopeScaling::Dynamic: return "dynamic";
    case RopeScaling::Llama3: return "llama3";
    case RopeScaling::Yarn: return "yarn";
    case RopeScaling::LongRope: return "longrope";
    case RopeScaling::Clex: return "clex";
  }
  return "?";
}

json parse_rope_scaling_spec(const std::string& text) {
  const std::string where = "rope scaling '" + text + "'";
  auto fail = [&](const std::string& problem) { spec_fail(where, problem); };
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const std::string& type = parts[0];
  if (type == "none" || type == "default") {
    if (parts.size() > 1) fail("'" + type + "' takes no factor or keys");
    return json{{"rope_type", "default"}};
  }
  const auto known = keys_by_type().find(type);
  if (known == keys_by_type().end()) spec_fail(where, type.empty() ? "no type" : "unknown type '" + type + "'");
  if (parts.size() < 2 || parts[1].empty()) fail("'" + type + "' needs a factor, e.g. " + type + ":4");
  json out{{"rope_type", type}, {"factor", spec::to_number(parts[1], where + " factor")}};
  for (size_t i = 2; i < parts.size(); ++i) {
    const std::string& kv = parts[i];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) fail("'" + kv + "' is not key=value");
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    const auto kind = known->second.find(key);
    if (kind == known->second.end() || key == "factor") {
      std::string allowed;
      for (const auto& [k, _] : known->second)
        if (k != "factor") allowed += (allowed.empty() ? "" : ", ") + k;
      fail("'" + type + "' has no key '" + key + "' (its keys: " + allowed + ")");
    }
    if (out.contains(key)) fail("key '" + key + "' given twice");
    const std::string setting = where + " " + key;
    switch (kind->second) {
      case Kind::Number: out[key] = spec::to_number(value, setting); break;
      case Kind::Integer: out[key] = spec::to_int(value, setting, 1, int64_t(1) << 31); break;
      case Kind::Boolean:
        if (value != "true" && value != "false") fail(key + " must be true or false, got '" + value + "'");
        out[key] = value == "true";
        break;
      case Kind::List: out[key] = spec::number_list(value, setting); break;
    }
  }
  return out;
}

void apply_rope_scaling(ArchSpec& a, const json& rs, const std::string& src) {
  reset(a);
  if (rs.is_null()) return;
  const Rs r{rs, src};
  if (!rs.is_object()) r.fail("", std::string("expected an object, got ") + rs.type_name());
  std::string type;
  for (const char* k : {"rope_type", "type"})  // `type` is HF's legacy name
    if (type.empty() && r.has(k)) {
      if (!rs.at(k).is_string()) r.fail(k, std::string("expected a string, got ") + rs.at(k).type_name());
      type = rs.at(k).get<std::string>();
    }
  if (type.empty()) r.fail("rope_type", "missing");
  if (type == "default") return;
  if (!keys_by_type().count(type)) r.fail("rope_type", "unsupported '" + type + "' (supported: default, " + type_list().substr(6) + ")");
  if (a.positional != PositionalKind::Rotary)
    throw InputError(src + ": rope scaling '" + type + "' applies to rotary (LLaMA-family) models only; this " +
                     a.model_type + " model has learned absolute positions");

  const int64_t L = a.max_position_embeddings;
  const bool has_orig = r.has("original_max_position_embeddings");
  a.rope_original_max_positions = r.count("original_max_position_embeddings", type == "llama3" ? 8192 : L);
  // linear, dynamic, yarn and llama3 require factor ≥ 1 (HF validation); longrope and clex derive or ignore it.
  const bool factor_required = type != "longrope" && type != "clex" && !(type == "yarn" && has_orig);
  if (factor_required && !r.has("factor")) r.fail("factor", "missing");
  a.rope_factor = r.number("factor", 1.0);
  if (type == "yarn" && !r.has("factor")) a.rope_factor = double(L) / double(a.rope_original_max_positions);
  if (!(a.rope_factor >= 1.0)) r.fail("factor", "must be at least 1, got " + std::to_string(a.rope_factor));
  int64_t target = int64_t(std::ceil(double(a.rope_original_max_positions) * a.rope_factor));

  if (type == "linear") {
    a.rope_scaling = RopeScaling::Linear;
  } else if (type == "dynamic") {
    a.rope_scaling = RopeScaling::Dynamic;
  } else if (type == "llama3") {
    a.rope_scaling = RopeScaling::Llama3;
    a.rope_low_freq_factor = r.positive("low_freq_factor", 1.0);
    a.rope_high_freq_factor = r.positive("high_freq_factor", 4.0);
    if (a.rope_high_freq_factor <= a.rope_low_freq_factor) r.fail("high_freq_factor", "must exceed low_freq_factor");
  } else if (type == "yarn") {
    a.rope_scaling = RopeScaling::Yarn;
    a.rope_beta_fast = r.positive("beta_fast", 32.0);
    a.rope_beta_slow = r.positive("beta_slow", 1.0);
    if (a.rope_beta_fast <= a.rope_beta_slow) r.fail("beta_fast", "must exceed beta_slow");
    a.rope_truncate = r.boolean("truncate", true);
    const double mscale = r.number("mscale", 0.0), mscale_all_dim = r.number("mscale_all_dim", 0.0);
    if (r.has("attention_factor")) a.rope_attention_factor = r.positive("attention_factor", 1.0);
    else if (mscale != 0.0 && mscale_all_dim != 0.0)  // DeepSeek-V3's form
      a.rope_attention_factor = yarn_mscale(a.rope_factor, mscale) / yarn_mscale(a.rope_factor, mscale_all_dim);
    else
      a.rope_attention_factor = yarn_mscale(a.rope_factor);
  } else if (type == "longrope") {
    a.rope_scaling = RopeScaling::LongRope;
    const size_t half = size_t(a.head_dim / 2);
    a.rope_short_factor = r.list("short_factor", half);
    a.rope_long_factor = r.list("long_factor", half);
    // Phi-3 keeps the trained length at the top level and the extended one in max_position_embeddings; HF then
    // derives the scale from their ratio instead of `factor`.
    if (a.config_original_max_position_embeddings > 0) {
      a.rope_original_max_positions = a.config_original_max_position_embeddings;
      a.rope_factor = double(L) / double(a.rope_original_max_positions);
    } else if (has_orig && !r.has("factor")) {
      a.rope_factor = double(L) / double(a.rope_original_max_positions);
    }
    const double s = a.rope_factor, lo = double(a.rope_original_max_positions);
    a.rope_attention_factor = r.has("attention_factor") ? r.positive("attention_factor", 1.0)
                              : s <= 1.0                ? 1.0
                                                        : std::sqrt(1.0 + std::log(s) / std::log(lo));
    target = std::max<int64_t>(L, int64_t(std::ceil(lo * std::max(s, 1.0))));
  } else {  // clex: the factor has no role; the step t = ceil(n / L_train) is capped at max_factor
    a.rope_scaling = RopeScaling::Clex;
    a.rope_max_factor = r.count("max_factor", 16);
    target = a.rope_original_max_positions * a.rope_max_factor;
  }
  a.max_positions = std::max(a.max_position_embeddings, std::min<int64_t>(target, int64_t(1) << 31));
  a.rope_scaling_json = rs.dump();
}

std::string describe_rope_scaling(const ArchSpec& a) {
  if (a.rope_scaling == RopeScaling::None) return "none";
  char buf[256];
  std::string s = rope_scaling_name(a.rope_scaling);
  auto add = [&](const char* fmt, auto... v) {
    std::snprintf(buf, sizeof buf, fmt, v...);
    s += buf;
  };
  if (a.rope_scaling != RopeScaling::Clex) add(" factor=%g", a.rope_factor);
  add(" original=%lld", static_cast<long long>(a.rope_original_max_positions));
  if (a.rope_attention_factor != 1.0) add(" attention_factor=%.6g", a.rope_attention_factor);
  if (a.rope_scaling == RopeScaling::Llama3) add(" low_freq_factor=%g high_freq_factor=%g", a.rope_low_freq_factor, a.rope_high_freq_factor);
  if (a.rope_scaling == RopeScaling::Yarn)
    add(" beta_fast=%g beta_slow=%g%s", a.rope_beta_fast, a.rope_beta_slow, a.rope_truncate ? "" : " truncate=false");
  if (a.rope_scaling == RopeScaling::Clex) add(" max_factor=%lld", static_cast<long long>(a.rope_max_factor));
  return s;
}

}  // namespace ps::models
