// probescope plot lines|heatmap|mask|attention|tree: paper-ready figures (PDF, SVG, PNG) rendered
// headless, each with the CSV/JSON of exactly the numbers drawn. Built only when Qt 6 Gui/Svg exist.
#ifdef PS_HAVE_RENDER
#include <cstdio>
#include <memory>
#include <optional>

#include "analysis/plot/attention.h"
#include "analysis/plot/masks.h"
#include "analysis/plot/table.h"
#include "analysis/plot/trees.h"
#include "app/cli/commands.h"
#include "models/util/spec.h"
#include "app/render/render.h"
#include "data/store/reader.h"
#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::cli {

namespace {

// Output flags every plot subcommand shares.
struct Output {
  std::string out, format = "pdf,svg,png", width = "one", title;
  double height = 0;
  int dpi = 300;
  void add_to(CLI::App& cmd) {
    cmd.add_option("--out", out, "output path without extension: writes PATH.pdf/.svg/.png, PATH.csv, PATH.json")
        ->required();
    cmd.add_option("--format", format, "comma-separated subset of pdf,svg,png")->capture_default_str();
    cmd.add_option("--width", width, "one (3.5 in), two (7.16 in) or a width in inches")->capture_default_str();
    cmd.add_option("--height", height, "height in inches (default: by figure kind)");
    cmd.add_option("--dpi", dpi, "PNG resolution")->capture_default_str();
    cmd.add_option("--title", title, "figure title");
  }
  void save(ps::plot::FigureSpec spec) const {
    ps::render::SaveOptions o;
    o.formats = ps::render::parse_formats(format);
    if (width == "one") {
      o.width_in = ps::plot::kOneColumnInches;
    } else if (width == "two") {
      o.width_in = ps::plot::kTwoColumnInches;
    } else {
      double w;
      if (!ps::plot::parse_number(width, w)) throw InputError("--width '" + width + "': expected one, two or inches");
      o.width_in = w;
    }
    o.height_in = height;
    o.dpi = dpi;
    if (!title.empty()) std::visit([&](auto& s) { s.title = title; }, spec);
    for (const auto& path : ps::render::save_figure(spec, out, o)) std::printf("%s\n", path.c_str());
  }
};

std::vector<std::string> split_list(const std::string& s, const std::string& flag) { return ps::spec::split_list(s, flag); }

// A bracket tree given inline ("(s x y)") or as a file holding one.
std::string tree_text(const std::string& arg) { return arg.find('(') != std::string::npos ? arg : ps::read_file(arg); }

void add_lines(CLI::App& plot) {
  auto* cmd = plot.add_subcommand("lines", "Line plot of any results CSV: one series per group, mean per x, band");
  struct Args {
    Output o;
    std::string csv, x, y, group, lo, hi, xlabel, ylabel;
    std::vector<std::string> where;
    bool logx = false, logy = false, no_markers = false;
    std::optional<double> ymin, ymax;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--csv", a->csv, "results CSV with a header (probe sweep, id.csv, …)")->required();
  cmd->add_option("--x", a->x, "x column (numeric), e.g. layer or k")->required();
  cmd->add_option("--y", a->y, "y column, e.g. f1 or id")->required();
  cmd->add_option("--group", a->group, "series by these columns, comma-separated (e.g. model,estimator)");
  cmd->add_option("--lo", a->lo, "band lower column (default band: min..max of rows sharing group and x)");
  cmd->add_option("--hi", a->hi, "band upper column");
  cmd->add_option("--where", a->where, "keep rows with COLUMN=VALUE (repeatable)");
  cmd->add_flag("--logx", a->logx, "log2 x axis (e.g. k)");
  cmd->add_flag("--logy", a->logy, "log10 y axis");
  cmd->add_option("--ymin", a->ymin, "fixed y axis minimum");
  cmd->add_option("--ymax", a->ymax, "fixed y axis maximum");
  cmd->add_option("--xlabel", a->xlabel, "x axis label (default: the column name)");
  cmd->add_option("--ylabel", a->ylabel, "y axis label (default: the column name)");
  cmd->add_flag("--no-markers", a->no_markers, "lines only");
  a->o.add_to(*cmd);
  cmd->callback(guarded("plot lines", [a] {
    ps::plot::LineQuery q;
    q.x = a->x;
    q.y = a->y;
    q.group = split_list(a->group, "--group");
    q.lo = a->lo;
    q.hi = a->hi;
    for (const auto& w : a->where) {
      const auto eq = w.find('=');
      if (eq == std::string::npos) throw InputError("--where '" + w + "': expected COLUMN=VALUE");
      q.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
    auto p = ps::plot::lines_from_table(ps::plot::read_csv_file(a->csv), q);
    p.x.log = a->logx;
    p.y.log = a->logy;
    p.y.log_base = 10;
    p.y.min = a->ymin;
    p.y.max = a->ymax;
    p.markers = !a->no_markers;
    if (!a->xlabel.empty()) p.x.label = a->xlabel;
    if (!a->ylabel.empty()) p.y.label = a->ylabel;
    a->o.save(p);
  }));
}

void add_heatmap(CLI::App& plot) {
  auto* cmd = plot.add_subcommand("heatmap", "Heatmap of a numeric matrix CSV (optional header/row labels)");
  struct Args {
    Output o;
    std::string csv, labels, xlabel, ylabel, value_label;
    std::optional<double> vmin, vmax;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--csv", a->csv, "matrix CSV")->required();
  cmd->add_option("--labels", a->labels, "one label per line, for the rows and/or columns (by count)");
  cmd->add_option("--xlabel", a->xlabel, "column axis label");
  cmd->add_option("--ylabel", a->ylabel, "row axis label");
  cmd->add_option("--value-label", a->value_label, "colour bar label");
  cmd->add_option("--vmin", a->vmin, "colour range minimum (default: data minimum)");
  cmd->add_option("--vmax", a->vmax, "colour range maximum (default: data maximum)");
  a->o.add_to(*cmd);
  cmd->callback(guarded("plot heatmap", [a] {
    auto h = ps::plot::heatmap_from_csv(ps::read_file(a->csv), a->csv);
    if (!a->labels.empty()) ps::plot::apply_labels(h, ps::plot::read_labels(ps::read_file(a->labels)), a->labels);
    h.x_label = a->xlabel;
    h.y_label = a->ylabel;
    h.value_label = a->value_label;
    h.vmin = a->vmin;
    h.vmax = a->vmax;
    a->o.save(h);
  }));
}

void add_mask(CLI::App& plot) {
  auto* cmd = plot.add_subcommand("mask", "Attention-mask pictures, one panel per --mode");
  struct Args {
    Output o;
    std::vector<std::string> modes;
    int64_t n = 0;
    int columns = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--mode", a->modes,
                  "causal | bidirectional | packed:LEN,LEN,…[:bidirectional] | lm-infinite:G:L[:LIMIT|none] | "
                  "window:W[:bidirectional] (repeatable: one panel each). LM-Infinite draws the far global keys, "
                  "scored at the distance cap (default L) on rotary models, in amber; CSV marks them 2")
      ->required();
  cmd->add_option("--n", a->n, "positions per panel (default 32; packed: the lengths' sum)");
  cmd->add_option("--columns", a->columns, "panels per row (default: all in one row)");
  a->o.add_to(*cmd);
  cmd->callback(guarded("plot mask", [a] {
    ps::plot::MaskFigure m;
    m.columns = a->columns;
    for (const auto& text : a->modes) {
      const auto mode = ps::plot::parse_mask_mode(text);
      m.panels.push_back(ps::plot::mask_panel(mode, a->n > 0 ? a->n : (mode.packed.empty() ? 32 : 0)));
    }
    a->o.save(m);
  }));
}

void add_attention(CLI::App& plot) {
  auto* cmd = plot.add_subcommand("attention", "Attention pattern [query, key] of one snippet from a store");
  struct Args {
    Output o;
    std::string store, head = "mean", tokenizer;
    int64_t snippet = 0;
    int layer = 0;
    std::optional<double> vmax;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--store", a->store, "activation store (.h5) with attention tables attn/layer_L")->required();
  cmd->add_option("--snippet", a->snippet, "snippet index")->required();
  cmd->add_option("--layer", a->layer, "attention table layer (negative: from the last stored)")->required();
  cmd->add_option("--head", a->head, "head index or mean")->capture_default_str();
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json to label tokens with text (default: token ids)");
  cmd->add_option("--vmax", a->vmax,
                  "colour range maximum (default 1: weights are probabilities; lower it to saturate)");
  a->o.add_to(*cmd);
  cmd->callback(guarded("plot attention", [a] {
    int head = -1;
    if (a->head != "mean") {
      double h;
      if (!ps::plot::parse_number(a->head, h) || h < 0 || h != int(h))
        throw InputError("--head '" + a->head + "': expected a head index or mean");
      head = int(h);
    }
    ps::store::StoreReader store(a->store);
    const auto p = ps::plot::load_attention(store, a->snippet, a->layer);
    std::unique_ptr<ps::tok::Tokenizer> tok;
    if (!a->tokenizer.empty()) tok = std::make_unique<ps::tok::Tokenizer>(ps::tok::Tokenizer::from_file(a->tokenizer));
    const auto labels = ps::plot::token_labels(store.tokens(a->snippet).input_ids, tok.get());
    auto h = ps::plot::attention_heatmap(p, head, labels);
    h.title = store.id(a->snippet) + ": " + h.title;
    if (a->vmax) h.vmax = a->vmax;
    a->o.save(h);
  }));
}

void add_tree(CLI::App& plot) {
  auto* cmd = plot.add_subcommand("tree", "Gold and recovered trees side by side, mismatched constituents marked");
  struct Args {
    Output o;
    std::string gold, pred, tokens, arrangement = "auto";
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--gold", a->gold, "bracket tree \"(label child …)\" or a file holding one")->required();
  cmd->add_option("--pred", a->pred, "recovered tree, same form (e.g. probes to_bracket output)")->required();
  cmd->add_option("--tokens", a->tokens, "one token per line: labels for leaves written as indices 0..n-1");
  cmd->add_option("--arrangement", a->arrangement, "auto, side or stacked")->capture_default_str();
  a->o.add_to(*cmd);
  cmd->callback(guarded("plot tree", [a] {
    std::vector<std::string> tokens;
    if (!a->tokens.empty()) tokens = ps::plot::read_labels(ps::read_file(a->tokens));
    auto p = ps::plot::tree_pair(ps::plot::parse_bracket(tree_text(a->gold), "--gold", tokens),
                                 ps::plot::parse_bracket(tree_text(a->pred), "--pred", tokens));
    if (a->arrangement == "side") p.arrangement = ps::plot::TreeArrangement::side_by_side;
    else if (a->arrangement == "stacked") p.arrangement = ps::plot::TreeArrangement::stacked;
    else if (a->arrangement != "auto") throw InputError("--arrangement '" + a->arrangement + "': expected auto, side or stacked");
    a->o.save(p);
  }));
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto* plot = app.add_subcommand("plot", "Paper-ready figures (PDF, SVG, PNG) plus the CSV/JSON of the numbers drawn");
  plot->require_subcommand(1);
  add_lines(*plot);
  add_heatmap(*plot);
  add_mask(*plot);
  add_attention(*plot);
  add_tree(*plot);
}

static const CommandRegistration registration{70, add_plot_command};

}  // namespace ps::cli
#endif  // PS_HAVE_RENDER
