#pragma once
// The --quantize grammar (no LibTorch here: the CLI and InterveneOptions include it).
//   rtn:bits=B[,per=channel|tensor][,asym|sym][,skip=embeddings,lm_head|none]
//   flexround:bits=B[,calib=N][,iters=I][,lr=X][,seqlen=S][,batch=K][,seed=R][,per=…][,asym|sym][,skip=…]
// B in 2..8. Defaults: per=channel, asym, skip=embeddings,lm_head (the linears of every block: attention
// q/k/v/o or GPT-2's fused c_attn, and the MLP matrices). FlexRound: calib=32 sequences of seqlen tokens
// (0 = min(256, the model's positions)), iters=500 Adam steps per block, batch=2 sequences per step (the
// authors' max(batch, 2)), lr = the authors' 3e-3 at 4 bits and 2.5e-3 at 3 bits; ours elsewhere (see
// flexround_default_lr), seed=0 (calibration draw and batch order).
#include <cstdint>
#include <string>

namespace ps::models {

struct QuantizeSpec {
  enum class Method { RTN, FlexRound };
  Method method = Method::RTN;
  int bits = 4;
  bool per_channel = true;
  bool symmetric = false;
  bool skip_embeddings = true, skip_lm_head = true;
  // FlexRound only.
  int64_t calib = 32, iters = 500, seqlen = 0, batch = 2;
  double lr = 0;  // 0 = flexround_default_lr(bits)
  uint64_t seed = 0;
  std::string text;  // as given

  const char* method_name() const { return method == Method::RTN ? "rtn" : "flexround"; }
  double learning_rate() const;
};

// InputError naming `setting` and the item: bits 0 or 9, an unknown key, a key of the other method, calib=0.
QuantizeSpec parse_quantize_spec(const std::string& text, const std::string& setting = "--quantize");

// The authors' W4A16 3e-3 and W3A16 2.5e-3 (scripts/FlexRound/Llama-2-*-w{4,3}a16.sh); ours elsewhere:
// 2e-3 at 2 bits (the same linear trend), and 3e-3·2^(4−b) from 5 bits on, so the per-step move of the
// largest code (|W/s| up to 2^b) stays about what it is at 4 bits.
double flexround_default_lr(int bits);

}  // namespace ps::models
