#pragma once
// RoPE scaling settings: Hugging Face's config.json `rope_scaling` object (modeling_rope_utils: linear,
// dynamic, yarn, llama3, longrope; `rope_type` or the legacy `type` key) plus `clex` (CLEX's training-free
// form, step-wise dynamic NTK), and the override grammar of --rope-scaling. The config.json reader, the
// run-time override and `probescope intervene` all go through apply_rope_scaling: one code path.
#include <string>

#include <nlohmann/json.hpp>

#include "models/config/arch.h"

namespace ps::models {

// "TYPE:factor[:key=value...]" (e.g. yarn:4, dynamic:2, clex:1:max_factor=16,
// llama3:8:low_freq_factor=1:high_freq_factor=4:original_max_position_embeddings=8192,
// longrope:32:short_factor=1,1.1,...:long_factor=...) or "none" → HF's rope_scaling object
// {"rope_type": TYPE, "factor": f, ...} ("none" → {"rope_type": "default"}). Unknown types or keys, and
// values of the wrong kind → one-line InputError quoting the text.
nlohmann::json parse_rope_scaling_spec(const std::string& text);

// Replaces arch's RoPE scaling by `rope_scaling` (an HF object, or null / rope_type "default" for none),
// resolving every default and derived value (attention factor, trained length) as HF does. Errors name
// `source` and the key: "<source>: field 'rope_scaling.factor': ...". A non-default type on a model without
// rotary positions (GPT-2, BERT) is refused. Raises arch.max_positions to the length the scaling targets.
void apply_rope_scaling(ArchSpec& arch, const nlohmann::json& rope_scaling, const std::string& source);

const char* rope_scaling_name(RopeScaling type);  // "none", "linear", "dynamic", "yarn", "llama3", "longrope", "clex"
// One line with the resolved values, e.g. "yarn factor=4 attention_factor=1.13863 original=2048 beta=32/1".
std::string describe_rope_scaling(const ArchSpec& arch);

}  // namespace ps::models
