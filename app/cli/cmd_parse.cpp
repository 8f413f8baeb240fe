// probescope parse FILE: the AST, its AST-Probe binary tree and (d,c,u), as the probe sees them.
#include <iostream>

#include "app/cli/commands.h"
#include "data/syntax/binary_tree.h"
#include "data/syntax/dcu.h"
#include "data/syntax/labelled_tree.h"
#include "data/syntax/parse.h"
#include "data/syntax/tree_text.h"
#include "data/syntax/snippets.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

void print_tree(const ps::syntax::SyntaxTree& tree, const std::string& code, bool ast) {
  using namespace ps::syntax;
  std::vector<std::string> tokens;
  for (const auto& t : code_tokens(tree, code)) tokens.push_back(t.text);
  BinaryTree bt = binarize(to_labelled(tree));
  if (ast) std::cout << "## AST\n" << render_ast(tree, code) << "\n";
  std::cout << "## binary tree\n" << render_binary(bt, tokens) << "\n";
  std::cout << "## (d, c, u)  (" << tokens.size() << " tokens)\n" << render_dcu(tree_to_dcu(bt), tokens) << "\n";
}

}  // namespace

void add_parse_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("parse", "Print a snippet's AST, its AST-Probe binary tree and (d,c,u)");
  struct Args {
    std::string file, language;
    bool functions = false, no_ast = false, keep_comments = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("FILE", a->file, "source file")->required();
  cmd->add_option("--language", a->language, "python, javascript, go, java or cpp (default: by extension)");
  cmd->add_flag("--functions", a->functions, "one tree per function definition instead of the whole file");
  cmd->add_flag("--no-ast", a->no_ast, "skip the (long) Tree-sitter AST");
  cmd->add_flag("--keep-comments", a->keep_comments, "parse comments and docstrings instead of removing them");
  cmd->callback(guarded("parse", [a] {
    using namespace ps::syntax;
    std::optional<Language> lang;
    if (!a->language.empty())
      lang = language_from_name(a->language);
    else
      lang = language_from_extension(a->file);
    if (!lang) throw ps::InputError(a->file + ": unknown language for this extension (pass --language)");
    const std::string code = ps::read_file(a->file);
    ParseOptions po;
    po.source_name = a->file;
    po.remove_comments = po.remove_docstrings = !a->keep_comments;
    if (a->functions) {
      SnippetOptions so;
      so.parse = po;
      auto fns = extract_functions(code, *lang, so);
      if (fns.empty()) throw ps::InputError(a->file + ": no function definitions");
      for (const auto& fn : fns) {
        std::cout << "# function " << (fn.name.empty() ? "<anonymous>" : fn.name) << " (" << fn.kind << ", bytes "
                  << fn.start_byte << ".." << fn.end_byte << ")\n";
        if (fn.has_error) {
          std::cout << "syntax error inside the function: skipped\n\n";
          continue;
        }
        print_tree(fn.tree, fn.text, !a->no_ast);
      }
      return;
    }
    ParseResult r = try_parse(code, *lang, po);
    if (!r.ok()) throw ParseError(r.status, r.message);
    std::cout << "# " << a->file << " (" << language_name(*lang) << ")\n";
    print_tree(r.tree, r.code, !a->no_ast);
  }));
}

static const CommandRegistration registration{25, add_parse_command};

}  // namespace ps::cli
