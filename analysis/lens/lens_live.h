#pragma once
// The logit lens over the scratchpad's live forward (analysis/live): the decoder lens from the hidden states
// that forward already captured (no second forward), and the encoder's fillers of one masked position (its own
// forward, under the same mask mode). Torch-free header: the desktop app's panels include it.
#include <cstdint>
#include <string>

#include "analysis/lens/logit_lens.h"
#include "analysis/live/live.h"

namespace ps::lens {

// hidden_states.0..n of `states` (forward_snippet with hidden = true) through the model's head.
LensTable live_logit_lens(const live::LiveModel& model, const live::TokenView& tokens, const live::ForwardStates& states,
                          int64_t k);

// tokens.ids with `position` masked, run under mask mode `mask` (RunOptions::mask grammar).
LensTable live_mlm_fillers(const live::LiveModel& model, const live::TokenView& tokens, int64_t position, int64_t k,
                           const std::string& mask = "default");

}  // namespace ps::lens
