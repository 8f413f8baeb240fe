#include "models/intervene/quantize_spec.h"

#include <cmath>

#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::models {

double flexround_default_lr(int bits) {
  if (bits == 4) return 3e-3;
  if (bits == 3) return 2.5e-3;
  if (bits <= 2) return 2e-3;
  return 3e-3 * std::pow(2.0, 4 - bits);
}

double QuantizeSpec::learning_rate() const { return lr > 0 ? lr : flexround_default_lr(bits); }

QuantizeSpec parse_quantize_spec(const std::string& text, const std::string& setting) {
  QuantizeSpec q;
  q.text = text;
  const auto colon = text.find(':');
  const std::string method = text.substr(0, colon), rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  const std::string where = setting + " '" + text + "'";
  if (method == "rtn") q.method = QuantizeSpec::Method::RTN;
  else if (method == "flexround") q.method = QuantizeSpec::Method::FlexRound;
  else throw InputError(where + ": unknown method '" + method + "' (expected rtn:bits=B,... or flexround:bits=B,...)");
  const bool flex = q.method == QuantizeSpec::Method::FlexRound;
  bool in_skip = false, have_bits = false;
  for (const auto& item : spec::split_list(rest, setting)) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (eq == std::string::npos) {
      if (item == "asym" || item == "sym") {
        q.symmetric = item == "sym";
        in_skip = false;
        continue;
      }
      // skip=embeddings,lm_head: names after skip= continue its list.
      if (in_skip && (item == "embeddings" || item == "lm_head")) {
        (item == "embeddings" ? q.skip_embeddings : q.skip_lm_head) = true;
        continue;
      }
      throw InputError(where + ": unknown item '" + item + "' (expected key=value, asym or sym)");
    }
    in_skip = false;
    const std::string what = setting + " " + key;
    if (key == "bits") {
      q.bits = int(spec::to_int(value, what));
      if (q.bits < 2 || q.bits > 8) throw InputError(where + ": bits=" + value + " outside 2..8");
      have_bits = true;
    } else if (key == "per") {
      if (value != "channel" && value != "tensor")
        throw InputError(where + ": per=" + value + " (expected per=channel or per=tensor)");
      q.per_channel = value == "channel";
    } else if (key == "skip") {
      q.skip_embeddings = q.skip_lm_head = false;
      if (value == "embeddings") q.skip_embeddings = true;
      else if (value == "lm_head") q.skip_lm_head = true;
      else if (value != "none") throw InputError(where + ": skip=" + value + " (expected embeddings, lm_head or none)");
      in_skip = value != "none";
    } else if (flex && key == "calib") {
      q.calib = spec::to_int(value, what, 1);
    } else if (flex && key == "iters") {
      q.iters = spec::to_int(value, what, 1);
    } else if (flex && key == "seqlen") {
      q.seqlen = spec::to_int(value, what, 1);
    } else if (flex && key == "batch") {
      q.batch = spec::to_int(value, what, 1);
    } else if (flex && key == "seed") {
      q.seed = uint64_t(spec::to_int(value, what, 0));
    } else if (flex && key == "lr") {
      q.lr = spec::to_number(value, what);
      if (!(q.lr > 0)) throw InputError(where + ": lr=" + value + " must be positive");
    } else {
      throw InputError(where + ": unknown key '" + key + "' for " + method +
                       (flex ? " (bits, calib, iters, lr, seqlen, batch, seed, per, asym|sym, skip)"
                             : " (bits, per, asym|sym, skip)"));
    }
  }
  if (!have_bits) throw InputError(where + ": bits=B is required (2..8)");
  return q;
}

}  // namespace ps::models
