// probescope corpus build|stats: assemble a CodeSearchNet-style JSONL corpus with seeded splits, and describe one.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "data/corpus/build.h"
#include "data/corpus/stats.h"
#include "data/syntax/parse.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

struct BuildArgs {
  std::vector<std::string> inputs, include, exclude;
  std::string language = "auto", out, tokenizer, split = "0.8,0.1,0.1", split_key = "content", text_mode = "file";
  std::string summary_json;
  bool functions = false, nested = false, keep_parse_errors = false, no_dedup = false, quiet = false;
  int64_t max_tokens = -1, min_tokens = 0, max_train = -1, max_valid = -1, max_test = -1;
  uint64_t seed = 123;
  size_t max_file_bytes = 1u << 20, max_line_bytes = 5000;
};

void add_build(CLI::App& corpus) {
  auto* cmd = corpus.add_subcommand("build", "Read source trees / JSONL / text into a JSONL corpus with train/valid/test "
                                             "splits; problems and progress on stderr, the summary on stdout");
  auto a = std::make_shared<BuildArgs>();
  cmd->add_option("--input,-i", a->inputs, "directories, *.jsonl (CodeSearchNet form) or single files")->required();
  cmd->add_option("--out,-o", a->out, "output JSONL")->required();
  cmd->add_option("--language", a->language, "auto (by extension / JSONL field), python, javascript, go, java, cpp, or text")
      ->capture_default_str();
  cmd->add_flag("--functions", a->functions, "one snippet per function definition (Tree-sitter) instead of per file");
  cmd->add_flag("--nested", a->nested, "with --functions: also functions defined inside functions");
  cmd->add_option("--include", a->include, "glob a file must match (relative path or name; repeatable)");
  cmd->add_option("--exclude", a->exclude, "glob that excludes a file, or a directory as 'dir/' (repeatable)");
  cmd->add_option("--text-mode", a->text_mode, "with --language text: file or paragraph")->capture_default_str();
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json: token limits count the model's subwords");
  cmd->add_option("--max-tokens", a->max_tokens,
                  "drop longer snippets (subwords incl. special tokens with --tokenizer, else code tokens); "
                  "default 512 with --tokenizer, off without; 0 = off");
  cmd->add_option("--min-tokens", a->min_tokens, "drop shorter snippets (same unit; 0 = off)")->capture_default_str();
  cmd->add_flag("--keep-parse-errors", a->keep_parse_errors, "keep snippets that do not parse cleanly");
  cmd->add_flag("--no-dedup", a->no_dedup, "keep exact duplicates (whitespace-normalized code)");
  cmd->add_option("--seed", a->seed, "split seed")->capture_default_str();
  cmd->add_option("--split", a->split, "train,valid,test fractions")->capture_default_str();
  cmd->add_option("--split-key", a->split_key, "hash the normalized code (content) or the snippet id (id)")
      ->capture_default_str();
  cmd->add_option("--max-train", a->max_train, "keep at most N train snippets (seeded sample; paper: 20000)");
  cmd->add_option("--max-valid", a->max_valid, "keep at most N validation snippets (paper: 2000)");
  cmd->add_option("--max-test", a->max_test, "keep at most N test snippets (paper: 4000)");
  cmd->add_option("--max-file-bytes", a->max_file_bytes, "larger files are skipped")->capture_default_str();
  cmd->add_option("--max-line-bytes", a->max_line_bytes, "files with a longer line are skipped (minified)")
      ->capture_default_str();
  cmd->add_option("--summary-json", a->summary_json, "also write the summary as JSON");
  cmd->add_flag("--quiet,-q", a->quiet, "no per-file problem lines on stderr (counts still in the summary)");
  cmd->callback(guarded("corpus build", [a] {
    using namespace ps::corpus;
    BuildOptions opt;
    if (a->language != "auto" && a->language != "text")
      a->language = ps::syntax::language_name(ps::syntax::language_from_name(a->language));
    opt.read.language = a->language;
    opt.read.include = a->include;
    opt.read.exclude = a->exclude;
    opt.read.functions = a->functions;
    opt.read.include_nested = a->nested;
    if (a->text_mode != "file" && a->text_mode != "paragraph")
      throw ps::InputError("--text-mode: expected file or paragraph, got '" + a->text_mode + "'");
    opt.read.text_mode = a->text_mode == "file" ? TextMode::File : TextMode::Paragraph;
    opt.read.max_file_bytes = a->max_file_bytes;
    opt.read.max_line_bytes = a->max_line_bytes;
    std::unique_ptr<ps::tok::Tokenizer> tk;
    if (!a->tokenizer.empty()) tk = std::make_unique<ps::tok::Tokenizer>(ps::tok::Tokenizer::from_file(a->tokenizer));
    opt.tokenizer = tk.get();
    opt.filter.max_tokens = a->max_tokens >= 0 ? a->max_tokens : (tk ? 512 : 0);
    opt.filter.min_tokens = a->min_tokens;
    opt.filter.drop_parse_errors = !a->keep_parse_errors;
    opt.filter.dedup = !a->no_dedup;
    opt.split.seed = a->seed;
    opt.split.fractions = parse_fractions(a->split);
    opt.split.max_count = {a->max_train, a->max_valid, a->max_test};
    if (a->split_key != "content" && a->split_key != "id")
      throw ps::InputError("--split-key: expected content or id, got '" + a->split_key + "'");
    opt.split.key = a->split_key == "content" ? SplitKey::Content : SplitKey::Id;
    if (!a->quiet) opt.on_problem = [](const Problem& p) { std::fprintf(stderr, "skip %s: %s\n", reason_name(p.reason), p.message.c_str()); };
    opt.progress_every = 2000;
    opt.on_progress = [](const Summary& s) {
      std::fprintf(stderr, "progress: %lld files, %lld snippets read\n", (long long)s.files_seen, (long long)s.snippets_read);
    };
    auto res = build_corpus(a->inputs, opt);
    write_jsonl(a->out, res.snippets);
    std::cout << res.summary.format() << "wrote " << res.snippets.size() << " snippets to " << a->out << "\n";
    if (!a->summary_json.empty()) ps::write_file_atomic(a->summary_json, res.summary.to_json().dump(2) + "\n");
  }));
}

void add_stats(CLI::App& corpus) {
  auto* cmd = corpus.add_subcommand("stats", "Snippets, code tokens, subwords, (d,c,u) label counts and parse failures "
                                             "per language of a corpus JSONL");
  auto file = std::make_shared<std::string>();
  auto tokenizer = std::make_shared<std::string>();
  auto top = std::make_shared<size_t>(15);
  cmd->add_option("FILE", *file, "corpus JSONL")->required();
  cmd->add_option("--tokenizer", *tokenizer, "tokenizer.json: also count the model's subwords");
  cmd->add_option("--top", *top, "labels listed per language")->capture_default_str();
  cmd->callback(guarded("corpus stats", [=] {
    if (!ps::file_exists(*file)) throw ps::InputError(*file + ": no such file");
    std::unique_ptr<ps::tok::Tokenizer> tk;
    if (!tokenizer->empty()) tk = std::make_unique<ps::tok::Tokenizer>(ps::tok::Tokenizer::from_file(*tokenizer));
    auto st = ps::corpus::corpus_stats(*file, tk.get(), [](const ps::corpus::Problem& p) {
      std::fprintf(stderr, "skip %s: %s\n", ps::corpus::reason_name(p.reason), p.message.c_str());
    });
    std::cout << st.format(*top);
  }));
}

}  // namespace

void add_corpus_command(CLI::App& app) {
  auto* corpus = app.add_subcommand("corpus", "Build and describe code corpora (JSONL, CodeSearchNet form)");
  corpus->require_subcommand(1);
  add_build(*corpus);
  add_stats(*corpus);
}

static const CommandRegistration registration{20, add_corpus_command};

}  // namespace ps::cli
