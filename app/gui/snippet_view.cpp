#include "app/gui/snippet_view.h"

#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTextBlock>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <cctype>

#include "analysis/plot/attention.h"
#include "data/store/reader.h"
#include "models/tokenizer/tokenizer.h"

namespace ps::gui {

void TreeSitterHighlighter::setRanges(std::vector<Range> r) {
  ranges_ = std::move(r);
  rehighlight();
}

void TreeSitterHighlighter::highlightBlock(const QString& text) {
  const int b0 = currentBlock().position(), b1 = b0 + int(text.size());
  for (const auto& r : ranges_) {
    const int a = std::max(r.begin, b0), z = std::min(r.end, b1);
    if (a < z) setFormat(a - b0, z - a, r.format);
  }
}

std::string token_class(const syntax::SyntaxTree& tree, int node, const std::string& text) {
  const auto& n = tree.nodes[size_t(node)];
  const std::string& t = n.type;
  if (syntax::is_comment_type(t)) return "comment";
  if (syntax::is_string_literal_type(t) || t.find("string") != std::string::npos) return "string";
  for (const char* num : {"integer", "float", "number", "int_literal", "decimal"})
    if (t.find(num) != std::string::npos) return "number";
  if (t == "true" || t == "false" || t == "none" || t == "null" || t == "nil") return "keyword";
  const bool word = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isalpha(c) || c == '_'; });
  if (!n.named && word) return "keyword";  // anonymous alphabetic terminals are the grammar's keywords
  if (t.find("identifier") != std::string::npos) {
    const std::string& parent = n.parent >= 0 ? tree.nodes[size_t(n.parent)].type : "";
    const bool defines = parent.find("definition") != std::string::npos || parent.find("declaration") != std::string::npos ||
                         parent.find("declarator") != std::string::npos;
    return defines ? "definition" : "identifier";
  }
  return "";
}

namespace {

QTextCharFormat format_for(const std::string& cls) {
  QTextCharFormat f;
  if (cls == "keyword") f.setForeground(QColor(0, 114, 178)), f.setFontWeight(QFont::Bold);
  else if (cls == "string") f.setForeground(QColor(0, 128, 90));
  else if (cls == "comment") f.setForeground(QColor(128, 128, 128)), f.setFontItalic(true);
  else if (cls == "number") f.setForeground(QColor(204, 102, 0));
  else if (cls == "definition") f.setForeground(QColor(160, 40, 120)), f.setFontWeight(QFont::Bold);
  else if (cls == "identifier") f.setForeground(QColor(30, 30, 30));
  return f;
}

QString esc(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }

}  // namespace

SnippetView::SnippetView(Session& session, Selection& selection, QWidget* parent)
    : QWidget(parent), s_(session), sel_(selection) {
  edit_ = new QPlainTextEdit;
  edit_->setReadOnly(true);
  edit_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  edit_->setLineWrapMode(QPlainTextEdit::NoWrap);
  edit_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  info_ = new QTextBrowser;
  hl_ = new TreeSitterHighlighter(edit_->document());
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(edit_);
  split->addWidget(info_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  v->addWidget(split);
  connect(edit_, &QPlainTextEdit::cursorPositionChanged, this, [this] {
    if (!updating_) showPosition(edit_->textCursor().position());
  });
  connect(&sel_, &Selection::snippetChanged, this, &SnippetView::reload);
}

void SnippetView::reload() {
  updating_ = true;
  const int64_t index = sel_.snippet();
  snippet_ = index;
  code_.clear();
  tree_ = {};
  byte_of_char_.clear();
  const auto code = s_.has_store() ? s_.snippet_code(index) : std::nullopt;
  if (!code) {
    edit_->setPlainText(s_.has_store() ? "(the store's corpus file is not available: no source text)" : "");
    hl_->setRanges({});
    info_->setHtml("");
    updating_ = false;
    return;
  }
  code_ = *code;
  const QString text = QString::fromStdString(code_);
  // QString positions are UTF-16 units; Tree-sitter and the store use UTF-8 bytes.
  byte_of_char_.assign(1, 0);
  for (int i = 0; i < text.size(); ++i) {
    const char16_t c = text[i].unicode();
    const int len = text[i].isHighSurrogate() ? 4 : text[i].isLowSurrogate() ? 0 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    byte_of_char_.push_back(byte_of_char_.back() + len);
  }
  edit_->setPlainText(text);
  syntax::Language lang = syntax::Language::Python;
  try {
    if (!s_.store_language().empty()) lang = syntax::language_from_name(s_.store_language());
  } catch (const std::exception&) {
  }
  syntax::ParseOptions po;
  po.remove_comments = false;  // comments are coloured, not blanked
  po.remove_docstrings = false;
  const auto parsed = syntax::try_parse(code_, lang, po);
  tree_ = parsed.tree;
  std::vector<TreeSitterHighlighter::Range> ranges;
  for (int t : tree_.root >= 0 ? tree_.terminals() : std::vector<int>{}) {
    const auto& n = tree_.nodes[size_t(t)];
    const auto cls = token_class(tree_, t, code_.substr(n.start_byte, n.end_byte - n.start_byte));
    if (cls.empty()) continue;
    ranges.push_back({charPosition(n.start_byte), charPosition(n.end_byte), format_for(cls)});
  }
  hl_->setRanges(std::move(ranges));
  info_->setHtml(parsed.ok() ? "Click a token to see its subwords and AST path."
                             : "Parse: " + esc(parsed.message));
  updating_ = false;
}

int SnippetView::charPosition(int64_t byte) const {
  const auto it = std::lower_bound(byte_of_char_.begin(), byte_of_char_.end(), byte);
  return int(it - byte_of_char_.begin());
}

QString SnippetView::infoText() const { return info_->toPlainText(); }

void SnippetView::showPosition(int char_pos) {
  if (code_.empty() || byte_of_char_.empty()) return;
  const int64_t byte = byte_of_char_[size_t(std::clamp(char_pos, 0, int(byte_of_char_.size()) - 1))];
  const auto* st = s_.store();
  const auto words = st->words(snippet_);
  const auto toks = st->tokens(snippet_);
  QString html;
  int w = -1;
  for (size_t i = 0; i < words.spans.size(); ++i)
    if (words.spans[i].begin <= byte && byte < words.spans[i].end) w = int(i);
  if (w < 0) {
    html = "No code token here (whitespace or a comment).<br>";
  } else {
    const auto& sp = words.spans[size_t(w)];
    html += QString("<b>word %1</b>: <code>%2</code> (bytes %3–%4)<br>")
                .arg(w)
                .arg(esc(code_.substr(size_t(sp.begin), size_t(sp.end - sp.begin))))
                .arg(sp.begin)
                .arg(sp.end);
    const auto& r = words.subwords[size_t(w)];
    html += QString("<b>subwords</b> (%1):").arg(r.end - r.begin);
    for (int64_t t = r.begin; t < r.end; ++t) {
      const auto& cs = toks.char_spans[size_t(t)];
      const std::string piece = code_.substr(size_t(cs.begin), size_t(cs.end - cs.begin));
      html += QString(" [%1 <code>%2</code>]").arg(toks.input_ids[size_t(t)]).arg(esc(plot::readable_token(piece)));
    }
    html += "<br>";
  }
  // AST path from a fresh parse: the terminal covering the byte, then its ancestors.
  int leaf = -1;
  for (int t : tree_.root >= 0 ? tree_.terminals() : std::vector<int>{})
    if (tree_.nodes[size_t(t)].start_byte <= byte && byte < tree_.nodes[size_t(t)].end_byte) leaf = t;
  if (leaf >= 0) {
    QStringList path;
    for (int n = leaf; n >= 0; n = tree_.nodes[size_t(n)].parent) path.prepend(esc(tree_.nodes[size_t(n)].type));
    html += "<b>AST path</b>: " + path.join(" › ");
  }
  info_->setHtml(html);
}

}  // namespace ps::gui
