#pragma once
// The selected snippet's source with syntax colours from its Tree-sitter parse (data/syntax), and, for
// the position clicked, the word (code token) there, its subwords (ids and text from the store's /tokens
// and char_spans) and the AST path from the root to its leaf.
#include <QStringList>
#include <QSyntaxHighlighter>
#include <QWidget>
#include <cstdint>
#include <vector>

#include "app/gui/selection.h"
#include "app/gui/session.h"
#include "data/syntax/parse.h"

class QPlainTextEdit;
class QTextBrowser;

namespace ps::gui {

// Formats per character range, computed once per snippet from the parse (not per block by regexes).
class TreeSitterHighlighter : public QSyntaxHighlighter {
 public:
  struct Range {
    int begin = 0, end = 0;  // QString positions
    QTextCharFormat format;
  };
  explicit TreeSitterHighlighter(QTextDocument* doc) : QSyntaxHighlighter(doc) {}
  void setRanges(std::vector<Range> r);
  const std::vector<Range>& ranges() const { return ranges_; }

 protected:
  void highlightBlock(const QString& text) override;

 private:
  std::vector<Range> ranges_;
};

// "keyword", "string", "comment", "number", "identifier", "definition" or "" for a terminal's colour.
std::string token_class(const syntax::SyntaxTree& tree, int node, const std::string& text);

class SnippetView : public QWidget {
  Q_OBJECT
 public:
  SnippetView(Session& session, Selection& selection, QWidget* parent = nullptr);
  void reload();  // text and colours of the selected snippet (it follows the selection by itself)
  // Shows the word, subwords and AST path at a character position of the text (what a click does).
  void showPosition(int char_pos);
  // The character position where byte offset `byte` of the snippet starts (tests click words with it).
  int charPosition(int64_t byte) const;
  QString infoText() const;  // the panel's plain text
  QPlainTextEdit* editor() const { return edit_; }
  const TreeSitterHighlighter* highlighter() const { return hl_; }

 private:
  Session& s_;
  Selection& sel_;
  QPlainTextEdit* edit_;
  QTextBrowser* info_;
  TreeSitterHighlighter* hl_;
  int64_t snippet_ = -1;
  std::string code_;
  std::vector<int64_t> byte_of_char_;  // QString position -> UTF-8 byte offset (size+1 entries)
  syntax::SyntaxTree tree_;
  bool updating_ = false;
};

}  // namespace ps::gui
