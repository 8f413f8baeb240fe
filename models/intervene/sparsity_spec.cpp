#include "models/intervene/sparsity_spec.h"

#include <regex>
#include <utility>
#include <vector>

#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::models {

std::string MatrixFilter::describe() const { return attn && mlp ? "attn,mlp" : attn ? "attn" : mlp ? "mlp" : ""; }

std::optional<std::string> matrix_group(const std::string& key) {
  static const std::regex re(R"(blocks\.\d+\.(attn|mlp)\.(qkv|q|k|v|o|in|gate|out)\.weight)");
  std::smatch m;
  if (!std::regex_match(key, m, re)) return std::nullopt;
  const std::string group = m[1], part = m[2];
  const bool attn_part = part == "qkv" || part == "q" || part == "k" || part == "v" || part == "o";
  if ((group == "attn") != attn_part) return std::nullopt;
  return group;
}

bool selected(const MatrixFilter& f, const std::string& key) {
  const auto g = matrix_group(key);
  return g && ((*g == "attn" && f.attn) || (*g == "mlp" && f.mlp));
}

MatrixFilter parse_matrix_filter(const std::string& text, const std::string& setting) {
  MatrixFilter f{false, false};
  for (const auto& item : spec::split_list(text, setting + " filter")) {
    if (item == "attn") f.attn = true;
    else if (item == "mlp") f.mlp = true;
    else throw InputError(setting + " filter: unknown matrix group '" + item + "' (expected attn and/or mlp)");
  }
  if (!f.attn && !f.mlp) throw InputError(setting + " filter: empty (expected attn and/or mlp)");
  return f;
}

namespace {

// "method:key=value,key=value,..." with bare items after filter= joined into the filter's value.
std::pair<std::string, std::vector<std::pair<std::string, std::string>>> split_spec(const std::string& text,
                                                                                    const std::string& setting,
                                                                                    const std::string& expected) {
  const auto colon = text.find(':');
  if (colon == std::string::npos)
    throw InputError(setting + " '" + text + "': expected " + expected);
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& item : spec::split_list(text.substr(colon + 1), setting)) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (!items.empty() && items.back().first == "filter") {
        items.back().second += "," + item;
        continue;
      }
      throw InputError(setting + " '" + text + "': expected key=value (got '" + item + "')");
    }
    const std::string key = item.substr(0, eq);
    for (const auto& [k, v] : items)
      if (k == key) throw InputError(setting + " '" + text + "': key '" + key + "' given twice");
    items.emplace_back(key, item.substr(eq + 1));
  }
  return {text.substr(0, colon), items};
}

}  // namespace

PruneSpec parse_prune_spec(const std::string& text, const std::string& setting) {
  const auto [method, items] =
      split_spec(text, setting, "magnitude|random:sparsity=S[,scope=layer|global][,filter=attn,mlp][,seed=N]");
  PruneSpec s;
  s.text = text;
  if (method == "magnitude") s.method = PruneSpec::Method::Magnitude;
  else if (method == "random") s.method = PruneSpec::Method::Random;
  else throw InputError(setting + ": unknown method '" + method + "' (expected magnitude or random)");
  bool have_sparsity = false;
  for (const auto& [key, value] : items) {
    if (key == "sparsity") {
      s.sparsity = spec::to_number(value, setting + " sparsity");
      if (!(s.sparsity >= 0 && s.sparsity < 1))
        throw InputError(setting + " sparsity=" + value + ": must lie in [0, 1)");
      have_sparsity = true;
    } else if (key == "scope") {
      if (value == "layer") s.global = false;
      else if (value == "global") s.global = true;
      else throw InputError(setting + " scope=" + value + ": expected layer or global");
    } else if (key == "filter") {
      s.filter = parse_matrix_filter(value, setting);
    } else if (key == "seed") {
      s.seed = uint64_t(spec::to_int(value, setting + " seed", 0));
    } else {
      throw InputError(setting + " '" + text + "': unknown key '" + key + "' (expected sparsity, scope, filter, seed)");
    }
  }
  if (!have_sparsity) throw InputError(setting + " '" + text + "': sparsity=S is required");
  return s;
}

DecomposeSpec parse_decompose_spec(const std::string& text, const std::string& setting) {
  const auto [method, items] = split_spec(
      text, setting, "lowrank+sparse:rank=R,nnz=N[,filter=attn,mlp][,iters=I][,inner=J][,step=K][,threshold=T][,polish=P][,seed=N]");
  if (method != "lowrank+sparse") throw InputError(setting + ": unknown method '" + method + "' (expected lowrank+sparse)");
  DecomposeSpec s;
  s.text = text;
  bool have_rank = false, have_nnz = false;
  for (const auto& [key, value] : items) {
    if (key == "rank") s.rank = spec::to_int(value, setting + " rank", 1), have_rank = true;
    else if (key == "nnz") s.nnz = spec::to_int(value, setting + " nnz", 0), have_nnz = true;
    else if (key == "filter") s.filter = parse_matrix_filter(value, setting);
    else if (key == "iters") s.iters = spec::to_int(value, setting + " iters", 1, 100000);
    else if (key == "inner") s.inner = spec::to_int(value, setting + " inner", 1, 1000);
    else if (key == "step") s.rank_step = spec::to_int(value, setting + " step", 1);
    else if (key == "seed") s.seed = uint64_t(spec::to_int(value, setting + " seed", 0));
    else if (key == "polish") s.polish = spec::to_int(value, setting + " polish", 0, 100000);
    else if (key == "threshold") {
      s.threshold = spec::to_number(value, setting + " threshold");
      if (s.threshold < 0) throw InputError(setting + " threshold=" + value + ": must be >= 0 (relative to the tensor's rms)");
    } else {
      throw InputError(setting + " '" + text + "': unknown key '" + key +
                       "' (expected rank, nnz, filter, iters, inner, step, threshold, polish, seed)");
    }
  }
  if (!have_rank || !have_nnz) throw InputError(setting + " '" + text + "': rank=R and nnz=N are both required");
  return s;
}

}  // namespace ps::models
