#pragma once
// Layer and hook selections as users type them: "all", "0,4,8", "-1" (negative counts from the end).
#include <string>
#include <vector>

namespace ps::extract {

// Layers in [0, n_layers] (HF hidden_states indices; -1 = n_layers). "all" = every one, "" or "none" = none.
// Sorted, unique. Throws InputError("--<flag>: ...") for a malformed list or an index out of range.
std::vector<int> parse_layers(const std::string& spec, int n_layers, const std::string& flag = "layers");

// Residual-stream hooks that can be stored per layer. resid_post is HF's hidden_states[L]; the others exist
// only for L >= 1 and mean block L-1's hook (the block whose output is hidden_states[L]).
enum class Hook { resid_post, resid_mid, attn_out, mlp_out };
std::vector<Hook> parse_hooks(const std::string& spec);  // comma list; InputError on an unknown name
const char* hook_name(Hook h);
// The Transformer hook that yields `h` at layer L, e.g. "hidden_states.3" or "blocks.2.hook_attn_out".
std::string model_hook(Hook h, int layer);
// Store activation suffix: "layer_3" for resid_post (so probes find words/layer_3), "attn_out/layer_3" otherwise.
std::string store_suffix(Hook h, int layer);

// Heads: "all" or a comma list of head indices in [0, n_heads).
std::vector<int> parse_heads(const std::string& spec, int n_heads);

std::string join_ints(const std::vector<int>& v);  // "0,4,8"

}  // namespace ps::extract
