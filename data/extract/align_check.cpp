#include "data/extract/align_check.h"

#include <cmath>
#include <cstdio>

#include "data/align/boundary.h"
#include "data/corpus/readers.h"
#include "data/extract/prepare.h"
#include "models/open/open_model.h"
#include "models/train/evaluate.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::extract {

double ModeFigures::ppl() const { return targets > 0 ? std::exp(nll / double(targets)) : 0.0; }
double ModeFigures::bits_per_byte(int64_t bytes) const { return bytes > 0 ? nll / double(bytes) / std::log(2.0) : 0.0; }

namespace {

struct Enough {};

void count(ModeFigures& f, const align::Alignment& a) {
  f.subwords += a.n_subwords();
  f.shared_pairs += a.n_shared_pairs;
  f.noncontiguous += align::count_noncontiguous(a);
  f.fallback += a.n_fallback;
}

// One function alone from position 0, its EOS appended: every token after the first is a target.
void score(ModeFigures& f, const models::Transformer& model, const std::vector<int32_t>& ids, int32_t eos,
           const std::vector<double>& unigram, bool bf16) {
  train::PackedData doc({ids}, eos, int64_t(ids.size()));
  const auto r = train::evaluate(model, doc, unigram, 0, 1, bf16);
  f.nll += r.loss * double(r.tokens);
  f.targets += r.tokens;
}

}  // namespace

AlignCheckResult align_check(const AlignCheckOptions& opt) {
  if (!file_exists(opt.model_dir + "/config.json")) throw InputError(opt.model_dir + ": no config.json (not a model directory)");
  if (!file_exists(opt.corpus)) throw InputError(opt.corpus + ": corpus file not found");
  const auto opened = models::open_model(models::ModelSource::directory(opt.model_dir), opt.load);
  if (!opened.tokenizer) throw InputError(opt.model_dir + ": no tokenizer.json");
  const tok::Tokenizer& tk = *opened.tokenizer;
  const auto cont = align::continuation_tokenizer(align::read_tokenizer_json(opened.tokenizer_path), opened.tokenizer_path);
  const models::Transformer& model = opened.engine->model();
  const auto& arch = model.arch();

  AlignCheckResult res;
  res.scored = arch.causal && model.has_lm_head();
  int32_t eos = int32_t(arch.eos_token_id);
  if (res.scored && eos < 0) eos = tk.pad_id();
  if (res.scored && eos < 0) throw InputError(opt.model_dir + ": config.json has no eos_token_id to end a scored function");
  const auto unigram = train::unigram_nll(std::vector<int64_t>(size_t(tk.vocab_size()), 0));  // unused figure

  PrepareOptions po;
  po.align_mode = align::Mode::Offsets;  // the natural tokenization: the text encoded once
  po.max_tokens = arch.max_positions;
  std::string language = opt.language == "auto" ? "" : opt.language;
  corpus::Summary summary;
  corpus::Reporter rep(summary);
  int64_t record = -1;
  try {
    corpus::read_jsonl(opt.corpus, {}, rep, [&](corpus::Snippet&& s) {
      ++record;
      if (language.empty()) language = s.language;
      if (s.language != language) return;
      if (!opt.splits.empty() && ("," + opt.splits + ",").find("," + s.split + ",") == std::string::npos) return;
      auto r = prepare(std::move(s), record, tk, po);
      if (r.skip != Skip::none) {
        ++res.skipped;
        return;
      }
      const auto& text = r.prepared.snippet.code;
      const auto& natural = r.prepared.alignment;
      const auto boundary = align::align_boundary(tk, cont, text, natural.word_spans, po.add_special_tokens);
      if (boundary.n_subwords() > po.max_tokens) {
        ++res.skipped;
        return;
      }
      ++res.functions;
      res.words += natural.n_words();
      res.bytes += int64_t(text.size());
      res.changed += boundary.encoding.ids != natural.encoding.ids;
      count(res.natural, natural);
      count(res.boundary, boundary);
      if (res.scored) {
        score(res.natural, model, natural.encoding.ids, eos, unigram, opt.bf16);
        score(res.boundary, model, boundary.encoding.ids, eos, unigram, opt.bf16);
      }
      if (opt.limit > 0 && res.functions >= opt.limit) throw Enough{};
    });
  } catch (const Enough&) {
  }
  if (res.functions == 0)
    throw InputError(opt.corpus + ": no function of language '" + language + "'" +
                     (opt.splits.empty() ? "" : " in splits " + opt.splits) + " could be aligned");
  return res;
}

std::string AlignCheckResult::format(const std::string& model, const std::string& corpus) const {
  char buf[512];
  std::string s;
  std::snprintf(buf, sizeof buf, "%s on %s: %lld functions, %lld words, %lld bytes (%lld skipped); %lld re-segmented\n",
                model.c_str(), corpus.c_str(), (long long)functions, (long long)words, (long long)bytes,
                (long long)skipped, (long long)changed);
  s += buf;
  std::snprintf(buf, sizeof buf, "%-9s %9s %13s %14s %9s %9s %12s %14s\n", "mode", "subwords", "shared-pairs",
                "noncontiguous", "fallback", "ppl", "bits/byte", "ppl/nat-token");
  s += buf;
  for (const auto& [name, f] : {std::pair{"natural", &natural}, std::pair{"boundary", &boundary}}) {
    if (scored)
      std::snprintf(buf, sizeof buf, "%-9s %9lld %13lld %14lld %9lld %9.3f %12.4f %14.3f\n", name, (long long)f->subwords,
                    (long long)f->shared_pairs, (long long)f->noncontiguous, (long long)f->fallback, f->ppl(),
                    f->bits_per_byte(bytes), natural.targets ? std::exp(f->nll / double(natural.targets)) : 0.0);
    else
      std::snprintf(buf, sizeof buf, "%-9s %9lld %13lld %14lld %9lld %9s %12s %14s\n", name, (long long)f->subwords,
                    (long long)f->shared_pairs, (long long)f->noncontiguous, (long long)f->fallback, "-", "-", "-");
    s += buf;
  }
  if (scored) {
    std::snprintf(buf, sizeof buf,
                  "re-segmentation costs %+.2f%% nats per byte (ppl per natural token %.3f -> %.3f)\n",
                  natural.nll > 0 ? 100.0 * (boundary.nll / natural.nll - 1.0) : 0.0, natural.ppl(),
                  natural.targets ? std::exp(boundary.nll / double(natural.targets)) : 0.0);
    s += buf;
  } else {
    s += "perplexity not measured: the model is not a causal LM with an LM head\n";
  }
  return s;
}

}  // namespace ps::extract
