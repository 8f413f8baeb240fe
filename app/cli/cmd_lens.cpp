// probescope lens: the logit lens of a decoder (top next-token predictions of the final norm + unembedding
// applied to every layer's residual stream) or, for a masked-LM encoder, the top fillers of a masked
// position by layer. A thin face over analysis/lens.
#include <cstdio>

#include "analysis/lens/logit_lens.h"
#include "analysis/plot/attention.h"
#include "app/cli/commands.h"
#include "models/open/open_model.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

void add_lens_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "lens",
      "Logit lens: for a decoder, the top-k next-token predictions of the final norm + unembedding applied to "
      "each layer's residual stream (layer L = hidden_states[L]: 0 = embeddings, the last = the model's real "
      "logits); for a masked-LM encoder, the top fillers of one masked position by layer (--position)");
  struct Args {
    std::string model, text, file, csv;
    int64_t top = 5, position = -1;
    EngineFlags engine;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "Hugging Face model directory (config.json, weights, tokenizer.json)")->required();
  cmd->add_option("--text", a->text, "the snippet to analyse");
  cmd->add_option("--file", a->file, "read the snippet from this file");
  cmd->add_option("--top", a->top, "predictions per layer and position")->capture_default_str();
  cmd->add_option("--position", a->position,
                  "encoder only: the token index (special tokens included, <s> = 0) to replace by the mask token");
  cmd->add_option("--csv", a->csv, "write every prediction (layer,position,input,target,rank,id,token,prob,logit)");
  a->engine.add_to(*cmd);
  cmd->callback(guarded("lens", [a] {
    if (a->text.empty() == a->file.empty()) throw InputError("give exactly one of --text or --file");
    const std::string code = a->file.empty() ? a->text : read_file(a->file);
    const auto eo = a->engine.options();
    auto opened = models::open_model(models::ModelSource::directory(a->model), eo, eo);
    if (!opened.tokenizer) throw InputError(a->model + "/tokenizer.json: not found (the lens needs the tokenizer)");
    const auto ids = opened.tokenizer->encode(code).ids;
    const bool encoder = opened.engine->model().arch().family == models::Family::BERT;
    if (encoder && a->position < 0) throw InputError("--position: an encoder's lens masks one position; give its index");
    if (!encoder && a->position >= 0) throw InputError("--position: only for masked-LM encoders; a decoder's lens covers every position");
    const auto t = encoder ? lens::mlm_fillers(*opened.engine, *opened.tokenizer, ids, a->position, a->top, eo)
                           : lens::logit_lens(*opened.engine, *opened.tokenizer, ids, a->top, eo);
    if (!a->csv.empty()) write_file_atomic(a->csv, lens::lens_csv(t));
    // The top-1 table: one line per position, one column per layer.
    std::printf("%-8s %-14s", "position", encoder ? "masked" : "input");
    for (int l : t.layers) std::printf(" %-18s", ("layer " + std::to_string(l)).c_str());
    std::printf("\n");
    for (int64_t c = 0; c < t.cols(); ++c) {
      std::printf("%-8lld %-14s", (long long)t.positions[size_t(c)],
                  plot::readable_token(encoder ? t.target[size_t(c)] : t.input[size_t(c)]).c_str());
      for (int64_t r = 0; r < t.rows(); ++r) {
        const auto& p = t.at(r, c, 0);
        std::printf(" %-11s %5.3f ", plot::readable_token(p.text).substr(0, 11).c_str(), p.prob);
      }
      std::printf("\n");
    }
  }));
}

}  // namespace

static const CommandRegistration registration{57, add_lens_command};

}  // namespace ps::cli
