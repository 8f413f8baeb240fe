#include "app/cli/quantize_calibration.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <filesystem>

#include "analysis/ppl/perplexity.h"
#include "models/config/arch.h"
#include "models/open/open_model.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

void QuantizeFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--quantize", spec,
                 "weights-only quantisation of every block's linear weights (attention q/k/v/o, MLP), dequantised "
                 "into model.safetensors in the source dtype, with the integer codes, scales and zero-points in "
                 "quantization.safetensors. rtn:bits=2..8[,per=channel|tensor][,asym|sym][,skip=embeddings,lm_head|none] "
                 "(round to nearest on the min/max grid; defaults per=channel, asym, skip=embeddings,lm_head) or "
                 "flexround:bits=B[,calib=32][,iters=500][,lr=..][,seqlen=min(256,max positions)][,batch=2][,seed=0] "
                 "(learned element-wise division, block-by-block reconstruction on --calib-corpus; lr defaults to the "
                 "authors' 3e-3 at 4 bits, 2.5e-3 at 3 bits). Applied after any other intervention");
  cmd.add_option("--calib-corpus", calib_corpus,
                 "FlexRound calibration corpus JSONL (\"code\", \"split\" per line): calib= sequences of seqlen= tokens "
                 "from its --calib-split functions, in seed= order, joined by the separator token");
  cmd.add_option("--calib-split", calib_split, "split the calibration sequences come from")->capture_default_str();
  cmd.add_option("--stop-after-blocks", stop_after_blocks,
                 "FlexRound: stop (resumably, exit 1) after this many blocks; the same command then resumes")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--threads", threads, "CPU threads for FlexRound (0 = all hardware threads)")->check(CLI::NonNegativeNumber);
}

void QuantizeFlags::apply(const std::string& model_dir, ps::models::InterveneOptions& o, Progress* progress) const {
  if (spec.empty()) {
    if (!calib_corpus.empty()) throw InputError("--calib-corpus: only used with --quantize flexround:...");
    return;
  }
  auto q = ps::models::parse_quantize_spec(spec);
  o.quantize_run.stop_after_blocks = stop_after_blocks;
  o.quantize_run.progress = progress;
  if (q.method != ps::models::QuantizeSpec::Method::FlexRound) {
    if (!calib_corpus.empty()) throw InputError("--calib-corpus: rtn needs no calibration data (only flexround does)");
    o.quantize = q;
    return;
  }
  if (calib_corpus.empty()) throw InputError("--calib-corpus: required by --quantize flexround (the calibration set)");
  if (!std::filesystem::is_regular_file(calib_corpus)) throw InputError("--calib-corpus " + calib_corpus + ": no such file");
  at::set_num_threads(threads > 0 ? threads : ps::models::hardware_threads());
  const auto arch = ps::models::load_arch(model_dir + "/config.json");
  const std::string tk_path = model_dir + "/tokenizer.json";
  if (!file_exists(tk_path)) throw InputError(tk_path + ": no tokenizer (FlexRound tokenises --calib-corpus with it)");
  const auto tk = ps::tok::Tokenizer::from_file(tk_path);
  if (q.seqlen == 0) q.seqlen = std::min<int64_t>(256, arch.max_positions);
  if (q.seqlen > arch.max_positions)
    throw InputError("--quantize seqlen=" + std::to_string(q.seqlen) + ": beyond the model's " +
                     std::to_string(arch.max_positions) + " positions");
  int32_t sep = ps::models::document_separator(tk, arch);
  if (sep < 0) sep = tk.token_to_id("[SEP]");
  if (sep < 0) throw InputError(tk_path + ": no separator token (eos, </s> or [SEP]) to join calibration functions");
  ps::ppl::PplOptions d;
  d.corpus = calib_corpus, d.split = calib_split, d.seed = q.seed, d.documents = q.calib;
  std::vector<std::vector<int32_t>> seqs;
  try {
    seqs = ps::ppl::held_out_documents(d, tk, sep, q.seqlen);
  } catch (const InputError& e) {
    throw InputError(std::string("--calib-corpus: ") + e.what());
  }
  if (int64_t(seqs.size()) < q.calib)
    throw InputError("--calib-corpus " + calib_corpus + ": split '" + calib_split + "' gives only " +
                     std::to_string(seqs.size()) + " sequences of " + std::to_string(q.seqlen) +
                     " tokens, calib=" + std::to_string(q.calib) + " needs more (lower calib= or seqlen=)");
  o.quantize = q;
  o.quantize_run.calibration = std::move(seqs);
  o.quantize_run.calibration_source = {{"corpus", std::filesystem::absolute(calib_corpus).lexically_normal().string()},
                                       {"split", calib_split}, {"seed", q.seed}, {"separator_id", sep}};
}

}  // namespace ps::cli
