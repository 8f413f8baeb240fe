#include "app/gui/scratchpad.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QFontDatabase>
#include <QGridLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTextBrowser>
#include <QTimer>
#include <algorithm>

#include "app/gui/live_panels.h"
#include "app/gui/snippet_view.h"
#include "probes/ast_probe.h"

namespace ps::gui {

namespace {
QString esc(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }

// QString position of each UTF-8 byte offset's character (Tree-sitter counts bytes, the editor UTF-16 units).
std::vector<int> char_of_byte(const std::string& utf8) {
  std::vector<int> out(utf8.size() + 1, 0);
  int ch = 0;
  for (size_t i = 0; i < utf8.size();) {
    const unsigned char c = static_cast<unsigned char>(utf8[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t k = 0; k < len && i + k < utf8.size(); ++k) out[i + k] = ch;
    ch += len == 4 ? 2 : 1;
    i += len;
  }
  out[utf8.size()] = ch;
  return out;
}
}  // namespace

Scratchpad::Scratchpad(Session& session, Selection& selection, QWidget* parent)
    : QWidget(parent), s_(session), sel_(selection) {
  lang_ = new QComboBox;
  for (const char* l : {"python", "javascript", "go", "java", "cpp"}) lang_->addItem(l);
  mask_ = new QComboBox;
  mask_->setEditable(true);  // any mask the Engine accepts
  for (const char* m : {"default", "lm-infinite:4:16", "lm-infinite:4:16:32", "window:16", "window:4"}) mask_->addItem(m);
  layer_ = new QSlider(Qt::Horizontal);
  layer_->setPageStep(1);
  layer_->setTickPosition(QSlider::TicksBelow);
  layer_label_ = new QLabel("layer 0");
  band_first_ = new QSpinBox;
  band_first_->setRange(0, 1 << 20);
  band_rows_ = new QSpinBox;
  band_rows_->setRange(0, 1 << 20);
  band_rows_->setSpecialValueText("all");
  band_rows_->setToolTip("Attention query rows computed and drawn: a band of a long input, never n×n (0 = all rows)");
  edit_ = new QPlainTextEdit;
  edit_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  edit_->setLineWrapMode(QPlainTextEdit::NoWrap);
  edit_->setPlaceholderText("Type code here: it is parsed, tokenised and run through the model on each pause.");
  hl_ = new TreeSitterHighlighter(edit_->document());
  error_ = new QLabel;
  error_->setStyleSheet("color: #b00020;");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  status_ = new QLabel("Open a model (File ▸ Open model directory) and type.");
  tokens_ = new QTextBrowser;
  panels_ = new LivePanels(sel_);
  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(300);

  auto* top = new QGridLayout;
  top->addWidget(new QLabel("language"), 0, 0);
  top->addWidget(lang_, 0, 1);
  top->addWidget(new QLabel("mask"), 0, 2);
  top->addWidget(mask_, 0, 3);
  top->addWidget(new QLabel("attention rows from"), 0, 4);
  top->addWidget(band_first_, 0, 5);
  top->addWidget(new QLabel("count"), 0, 6);
  top->addWidget(band_rows_, 0, 7);
  top->addWidget(layer_label_, 1, 0);
  top->addWidget(layer_, 1, 1, 1, 7);
  auto* left = new QWidget;
  auto* lv = new QVBoxLayout(left);
  lv->setContentsMargins(0, 0, 0, 0);
  lv->addWidget(edit_, 3);
  lv->addWidget(error_);
  lv->addWidget(new QLabel("subwords (│ marks a word boundary, grey: special or outside any word)"));
  lv->addWidget(tokens_, 1);
  lv->addWidget(status_);
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(left);
  split->addWidget(panels_);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  auto* v = new QVBoxLayout(this);
  v->addLayout(top);
  v->addWidget(split, 1);

  // textChanged also fires when the highlighter re-marks the parse (a format change): only an edit schedules,
  // or every result would schedule the next analysis of the same text, forever.
  connect(edit_, &QPlainTextEdit::textChanged, this, [this] {
    QString text = edit_->toPlainText();
    if (text == scheduled_text_) return;
    scheduled_text_ = std::move(text);
    schedule();
  });
  connect(lang_, &QComboBox::currentTextChanged, this, &Scratchpad::schedule);
  connect(mask_, &QComboBox::currentTextChanged, this, &Scratchpad::schedule);
  connect(band_first_, qOverload<int>(&QSpinBox::valueChanged), this, &Scratchpad::schedule);
  connect(band_rows_, qOverload<int>(&QSpinBox::valueChanged), this, &Scratchpad::schedule);
  connect(debounce_, &QTimer::timeout, this, &Scratchpad::analyzeNow);
  connect(layer_, &QSlider::valueChanged, this, [this](int L) { sel_.setLayer(L); });
  connect(&sel_, &Selection::layerChanged, this, [this](int L) {
    const QSignalBlocker block(layer_);
    layer_->setValue(L);
    layer_label_->setText(QString("layer %1").arg(L));
    schedule();  // another layer's probe; the attention panel redraws now from the last result
    panels_->redraw();
  });
  connect(&sel_, &Selection::kChanged, this, &Scratchpad::schedule);
  connect(&runner_, &LiveRunner::finished, this, &Scratchpad::on_result);
  connect(&runner_, &LiveRunner::failed, this, [this](qint64, const QString& m) { error_->setText(m); });
  connect(&runner_, &LiveRunner::cancelled, this, [this] { status_->setText("analysis cancelled"); });
  reload();
}

int Scratchpad::debounceMs() const { return debounce_->interval(); }
bool Scratchpad::busy() const { return debounce_->isActive() || runner_.busy(); }

void Scratchpad::reload() {
  const QSignalBlocker block(layer_);
  const int n = s_.has_model() ? int(s_.model().layers) : 0;
  layer_->setRange(0, n);
  layer_->setValue(sel_.layer());
  layer_label_->setText(QString("layer %1").arg(layer_->value()));
  schedule();
}

void Scratchpad::setCode(const QString& code) { edit_->setPlainText(code); }
void Scratchpad::setLanguage(const QString& name) { lang_->setCurrentText(name); }
QString Scratchpad::language() const { return lang_->currentText(); }
void Scratchpad::setMask(const QString& mode) { mask_->setCurrentText(mode); }
void Scratchpad::setBand(int first, int rows) {
  band_first_->setValue(first);
  band_rows_->setValue(rows);
}

void Scratchpad::schedule() {
  if (!edit_->toPlainText().isEmpty()) debounce_->start();  // restarts on every keystroke
}

void Scratchpad::analyzeNow() {
  debounce_->stop();
  const auto model = s_.live_model();
  if (!model) return status_->setText("Open a model to analyse the snippet (File ▸ Open model directory).");
  live::LiveRequest req;
  req.code = edit_->toPlainText().toStdString();
  try {
    req.language = syntax::language_from_name(lang_->currentText().toStdString());
  } catch (const std::exception& e) {
    return error_->setText(e.what());
  }
  req.forward.mask = mask_->currentText().trimmed().toStdString();
  req.forward.pattern_first_row = band_first_->value();
  req.forward.pattern_rows = band_rows_->value();
  // The probe at the selected layer and k, loaded (and cached) here; the worker only reads it.
  // The worker gets its own copy (a few KB), so no run outlives the session's probe cache.
  std::shared_ptr<const probes::SavedAstProbe> probe;
  std::optional<ProbeRow> row = s_.probe_row(sel_.layer(), sel_.k());
  if (row) {
    try {
      probe = std::make_shared<const probes::SavedAstProbe>(s_.load_probe(row->probe_path));
      req.probe_path = row->probe_path;
      req.probe_k = row->k;
    } catch (const std::exception& e) {
      status_->setText(QString("probe %1: %2").arg(QString::fromStdString(row->probe_path)).arg(e.what()));
    }
  }
  analysed_code_ = req.code;
  status_->setText("analysing…");
  runner_.start([model, probe, req](const std::atomic<bool>& cancel) {
    live::LiveRequest r = req;
    r.probe = probe.get();
    r.cancel = &cancel;
    return live::analyze(*model, r);
  });
}

void Scratchpad::on_result() {
  const auto r = runner_.last();
  if (!r) return;
  show_parse(r->parse);
  if (!r->ok()) {
    error_->setText(QString::fromStdString(r->message));
    status_->setText("the panels show the last snippet that parsed");
    return;  // tokens and panels keep their last good state
  }
  error_->clear();
  show_tokens(r->tokens);
  panels_->show(r);
  status_->setText(QString("%1 subwords, %2 words · forward %3 ms · analysis %4 ms · mask %5")
                       .arg(r->tokens.ids.size())
                       .arg(r->tokens.words.size())
                       .arg(r->seconds_forward * 1e3, 0, 'f', 1)
                       .arg(r->seconds_total * 1e3, 0, 'f', 1)
                       .arg(QString::fromStdString(r->states.mask)));
}

void Scratchpad::show_parse(const live::ParseView& parse) {
  // Marks refer to the text that was analysed; if the user typed since, a newer run is already on its way.
  if (analysed_code_ != edit_->toPlainText().toStdString()) return;
  const auto at = char_of_byte(analysed_code_);
  const auto pos = [&](int64_t b) { return at[size_t(std::clamp<int64_t>(b, 0, int64_t(analysed_code_.size())))]; };
  std::vector<TreeSitterHighlighter::Range> ranges;
  for (const auto& is : parse.issues) {
    QTextCharFormat f;
    f.setUnderlineStyle(QTextCharFormat::WaveUnderline);
    f.setUnderlineColor(QColor(200, 0, 32));
    f.setBackground(QColor(255, 228, 228));
    f.setToolTip(is.missing ? QString("MISSING %1").arg(QString::fromStdString(is.type)) : QString("ERROR"));
    int b = pos(is.begin), e = pos(is.end);
    if (e <= b) e = b + 1, b = std::max(0, b - (b >= int(at.back()) ? 1 : 0));  // a MISSING token: mark where it belongs
    ranges.push_back({b, e, f});
  }
  hl_->setRanges(std::move(ranges));
}

void Scratchpad::show_tokens(const live::TokenView& t) {
  QString html = "<p style='font-family:monospace; line-height:150%'>";
  for (size_t i = 0; i < t.ids.size(); ++i) {
    if (t.word_start[i]) html += "<span style='color:#0072b2'><b>│</b></span>";
    const bool outside = t.special[i] || t.word_of[i] < 0;
    html += QString("<span style='background:%1; color:%2' title='id %3, word %4'>%5</span> ")
                .arg(outside ? "#eeeeee" : "#e8f1fa")
                .arg(outside ? "#888888" : "#000000")
                .arg(t.ids[i])
                .arg(t.word_of[i])
                .arg(esc(t.texts[i]));
  }
  tokens_->setHtml(html + "</p>");
}

QString Scratchpad::tokensText() const { return tokens_->toPlainText(); }

}  // namespace ps::gui
