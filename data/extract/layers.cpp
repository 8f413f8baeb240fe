#include "data/extract/layers.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "models/util/error.h"
#include "models/util/spec.h"

namespace ps::extract {

namespace {
std::vector<std::string> split_commas(const std::string& s, const std::string& flag) { return spec::split_list(s, "--" + flag); }

int parse_int(const std::string& item, const std::string& flag) {
  return static_cast<int>(spec::to_int(item, "--" + flag, -100000, 100000));
}
}  // namespace

std::vector<int> parse_layers(const std::string& spec, int n_layers, const std::string& flag) {
  std::vector<int> out;
  if (spec.empty() || spec == "none") return out;
  if (spec == "all") {
    for (int l = 0; l <= n_layers; ++l) out.push_back(l);
    return out;
  }
  for (const auto& item : split_commas(spec, flag)) {
    int l = parse_int(item, flag);
    if (l < 0) l += n_layers + 1;
    if (l < 0 || l > n_layers)
      throw InputError("--" + flag + ": layer " + item + " is outside [0, " + std::to_string(n_layers) +
                       "] (the model has " + std::to_string(n_layers) + " blocks; 0 = embeddings)");
    out.push_back(l);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Hook> parse_hooks(const std::string& spec) {
  std::vector<Hook> out;
  for (const auto& item : split_commas(spec.empty() ? "resid_post" : spec, "hooks")) {
    Hook h;
    if (item == "resid_post" || item == "hidden_states") h = Hook::resid_post;
    else if (item == "resid_mid") h = Hook::resid_mid;
    else if (item == "attn_out") h = Hook::attn_out;
    else if (item == "mlp_out") h = Hook::mlp_out;
    else throw InputError("--hooks: unknown hook '" + item + "' (resid_post, resid_mid, attn_out, mlp_out)");
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  }
  return out;
}

const char* hook_name(Hook h) {
  switch (h) {
    case Hook::resid_post: return "resid_post";
    case Hook::resid_mid: return "resid_mid";
    case Hook::attn_out: return "attn_out";
    case Hook::mlp_out: return "mlp_out";
  }
  return "?";
}

std::string model_hook(Hook h, int layer) {
  if (h == Hook::resid_post) return "hidden_states." + std::to_string(layer);
  if (layer < 1) throw InputError(std::string("--hooks: ") + hook_name(h) + " has no layer 0 (it is a block's hook)");
  return "blocks." + std::to_string(layer - 1) + ".hook_" + hook_name(h);
}

std::string store_suffix(Hook h, int layer) {
  const std::string l = "layer_" + std::to_string(layer);
  return h == Hook::resid_post ? l : std::string(hook_name(h)) + "/" + l;
}

std::vector<int> parse_heads(const std::string& spec, int n_heads) {
  std::vector<int> out;
  if (spec.empty() || spec == "all") {
    for (int h = 0; h < n_heads; ++h) out.push_back(h);
    return out;
  }
  for (const auto& item : split_commas(spec, "heads")) {
    int h = parse_int(item, "heads");
    if (h < 0 || h >= n_heads)
      throw InputError("--heads: head " + item + " is outside [0, " + std::to_string(n_heads) + ")");
    out.push_back(h);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

}  // namespace ps::extract
