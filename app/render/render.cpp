#include "app/render/render.h"

#include <QBuffer>
#include <QGuiApplication>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <cmath>
#include <cstdlib>

#include "analysis/plot/export.h"
#include "app/render/canvas.h"
#include "app/render/kinds.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::render {

namespace {

std::string bytes(const QByteArray& a) { return std::string(a.constData(), size_t(a.size())); }

void check_size(double width_in, double height_in, int dpi) {
  if (!(width_in > 0.5 && width_in < 50) || !(height_in > 0.3 && height_in < 50))
    throw InputError("figure size " + std::to_string(width_in) + " x " + std::to_string(height_in) +
                     " in is outside 0.5..50 in");
  if (dpi < 30 || dpi > 2400) throw InputError("--dpi " + std::to_string(dpi) + " is outside 30..2400");
}

}  // namespace

const DrawnPoint* nearest_point(const DrawnPoints& drawn, QPointF at, double max_distance) {
  const DrawnPoint* best = nullptr;
  double best_d = max_distance;
  for (const auto& p : drawn.points) {
    const double d = std::hypot(p.at.x() - at.x(), p.at.y() - at.y());
    if (d <= best_d) best_d = d, best = &p;
  }
  return best;
}

void render(const ps::plot::FigureSpec& spec, QPainter& painter, const QRectF& rect, const Style& style,
            DrawnPoints* drawn) {
  if (drawn) *drawn = {};
  Canvas c(painter, style);
  painter.save();
  painter.setClipRect(rect, Qt::IntersectClip);
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, ps::plot::LinePlot>) render_lines(s, c, rect, drawn);
        if constexpr (std::is_same_v<T, ps::plot::Heatmap>) render_heatmap(s, c, rect, drawn);
        if constexpr (std::is_same_v<T, ps::plot::MaskFigure>) render_masks(s, c, rect);
        if constexpr (std::is_same_v<T, ps::plot::TreePair>) render_trees(s, c, rect);
      },
      spec);
  painter.restore();
}

std::vector<Format> parse_formats(const std::string& list) {
  std::vector<Format> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string f = list.substr(start, comma - start);
    Format fmt;
    if (f == "pdf") fmt = Format::pdf;
    else if (f == "svg") fmt = Format::svg;
    else if (f == "png") fmt = Format::png;
    else throw InputError("--format: unknown format '" + f + "' (expected pdf, svg, png, comma-separated)");
    if (std::find(out.begin(), out.end(), fmt) == out.end()) out.push_back(fmt);
    start = comma + 1;
  }
  return out;
}

const char* extension(Format f) {
  switch (f) {
    case Format::pdf: return "pdf";
    case Format::svg: return "svg";
    case Format::png: return "png";
  }
  return "";
}

void ensure_gui_application() {
  if (auto* app = QCoreApplication::instance()) {
    if (!qobject_cast<QGuiApplication*>(app))
      throw RuntimeError("rendering needs a QGuiApplication, but this process created a QCoreApplication");
    return;
  }
  setenv("QT_QPA_PLATFORM", "offscreen", 0);  // headless unless the caller chose a platform
  // Headless runs have no XDG runtime dir; Qt's warning about it is noise on a CLI's stderr.
  static QtMessageHandler previous = qInstallMessageHandler(
      [](QtMsgType type, const QMessageLogContext& ctx, const QString& msg) {
        if (type == QtWarningMsg && msg.startsWith("QStandardPaths: XDG_RUNTIME_DIR")) return;
        if (previous) previous(type, ctx, msg);
      });
  static int argc = 1;
  static char name[] = "probescope";
  static char* argv[] = {name, nullptr};
  // Deliberately never destroyed: it must outlive every painter, and exit tears the process down anyway.
  static QGuiApplication* app = new QGuiApplication(argc, argv);
  (void)app;
}

double figure_height(const ps::plot::FigureSpec& spec, const SaveOptions& o) {
  return o.height_in > 0 ? o.height_in : o.width_in * ps::plot::default_aspect(spec, o.width_in);
}

QImage render_image(const ps::plot::FigureSpec& spec, double width_in, double height_in, int dpi, const Style& style) {
  ensure_gui_application();
  check_size(width_in, height_in, dpi);
  QImage img(int(std::lround(width_in * dpi)), int(std::lround(height_in * dpi)), QImage::Format_RGB32);
  img.fill(Qt::white);
  const int dpm = int(std::lround(dpi / 0.0254));
  img.setDotsPerMeterX(dpm);
  img.setDotsPerMeterY(dpm);
  QPainter p(&img);
  p.setRenderHint(QPainter::Antialiasing, true);
  p.setRenderHint(QPainter::TextAntialiasing, true);
  p.scale(dpi / 72.0, dpi / 72.0);
  render(spec, p, QRectF(0, 0, width_in * 72, height_in * 72), style);
  p.end();
  return img;
}

std::vector<std::string> save_figure(const ps::plot::FigureSpec& spec, const std::string& path, const SaveOptions& o) {
  ensure_gui_application();
  if (o.formats.empty()) throw InputError("save_figure: no output format");
  const double w = o.width_in, h = figure_height(spec, o);
  check_size(w, h, o.dpi);
  const QString title = qs(ps::plot::figure_title(spec));
  std::vector<std::string> written;
  for (Format f : o.formats) {
    const std::string out = path + "." + extension(f);
    QBuffer buf;
    buf.open(QIODevice::WriteOnly);
    if (f == Format::pdf) {
      QPdfWriter pdf(&buf);
      pdf.setTitle(title);
      pdf.setCreator("probescope");
      pdf.setResolution(1200);
      pdf.setPageSize(QPageSize(QSizeF(w, h), QPageSize::Inch, QString(), QPageSize::ExactMatch));
      pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
      QPainter p;
      if (!p.begin(&pdf)) throw RuntimeError(out + ": cannot start the PDF painter");
      const double s = pdf.resolution() / 72.0;
      p.scale(s, s);
      render(spec, p, QRectF(0, 0, pdf.width() / s, pdf.height() / s), o.style);
      p.end();
    } else if (f == Format::svg) {
      QSvgGenerator svg;
      svg.setOutputDevice(&buf);
      svg.setTitle(title);
      svg.setDescription("probescope plot");
      svg.setResolution(72);  // one SVG user unit = one point
      svg.setSize(QSize(int(std::lround(w * 72)), int(std::lround(h * 72))));
      svg.setViewBox(QRectF(0, 0, w * 72, h * 72));
      QPainter p;
      if (!p.begin(&svg)) throw RuntimeError(out + ": cannot start the SVG painter");
      render(spec, p, QRectF(0, 0, w * 72, h * 72), o.style);
      p.end();
    } else {
      const QImage img = render_image(spec, w, h, o.dpi, o.style);
      if (!img.save(&buf, "PNG")) throw RuntimeError(out + ": PNG encoding failed");
    }
    ps::write_file_atomic(out, bytes(buf.data()));
    written.push_back(out);
  }
  if (o.write_data) {
    ps::plot::write_figure_data(spec, path);
    written.push_back(path + ".csv");
    written.push_back(path + ".json");
  }
  return written;
}

}  // namespace ps::render
