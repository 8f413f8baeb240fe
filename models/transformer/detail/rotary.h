#pragma once
// Rotary position embeddings as Hugging Face's LLaMA computes them (rotate_half convention), from
// explicit position_ids so packed sequences with restarted positions rotate exactly as alone, with the
// RoPE scaling types of models/config/rope_scaling.h. Length-dependent types (dynamic, clex, longrope)
// take the length of each sequence from its own position ids (max + 1, as HF's seq_len), never from the
// batch or from what ran before: HF's grow-only inv_freq cache makes a sequence's states depend on call
// order and batching (HF #25104). Nothing here keeps state.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "models/config/arch.h"

namespace ps::models {

// Whether the frequencies depend on the sequence's length (dynamic, clex, longrope).
bool rope_depends_on_length(const ArchSpec& arch);

// inv_freq [head_dim/2] for a sequence spanning seq_len positions (its max position id + 1), in double.
std::vector<double> rope_inv_freq_values(const ArchSpec& arch, int64_t seq_len);
// The same as a float32 tensor.
at::Tensor rope_inv_freq(const ArchSpec& arch, int64_t seq_len);

// cos, sin [..., head_dim] in `dtype` for `positions` [...] of ONE sequence whose frequencies are those of a
// seq_len-long sequence, both multiplied by the attention factor (HF attention_scaling): exactly the tables
// that sequence's queries and keys use. Angles in double, so shifted positions rotate without drift.
std::pair<at::Tensor, at::Tensor> rope_cos_sin_for_sequence(const ArchSpec& arch, const at::Tensor& positions,
                                                            int64_t seq_len, at::ScalarType dtype);

// cos, sin [..., head_dim] for a batch. lengths empty: position_ids [B,S] (or [S]) padded rows, each row
// split into sequences where the position stops increasing (packed rows restart at 0; padding is its own
// one-token sequence). lengths given: position_ids [T] holds those sequences back to back. Each sequence
// uses its own max(position_ids) + 1.
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const ArchSpec& arch, const at::Tensor& position_ids,
                                               at::ScalarType dtype, const std::vector<int64_t>& lengths = {});

// x [..., H, hd] (token-major, before heads move forward) rotated: x*cos + rotate_half(x)*sin, cos/sin [..., hd].
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace ps::models
