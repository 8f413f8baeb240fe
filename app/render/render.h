#pragma once
// Offscreen rendering of plot specs (analysis/plot/figure.h) with QtGui only — no Widgets — so the CLI
// renders headless (QT_QPA_PLATFORM=offscreen) and the desktop app can draw the same figures into
// any QPainter.
#include <QPointF>
#include <QRectF>
#include <QString>
#include <string>
#include <vector>

#include "analysis/plot/figure.h"

class QPainter;
class QImage;

namespace ps::render {

// Sizes are in the units of the rect given to render(): save_figure maps one unit to one point
// (1/72 in), so these are font points and line widths in points.
struct Style {
  QString font_family = "DejaVu Sans";
  QString mono_family = "DejaVu Sans Mono";  // token labels
  double font_pt = 7.5;    // axis labels, legend
  double tick_pt = 6.5;    // tick labels, token labels
  double title_pt = 8.5;
  double line_pt = 1.2;    // series lines
  double axis_pt = 0.6;    // spines, ticks
  double marker_pt = 3.6;  // marker diameter
};

// Where a line plot's data points landed (in the coordinates of the rect given to render()): the desktop
// app hit-tests these for hover tooltips and clicks, so it never re-derives the plot's layout.
struct DrawnPoint {
  int series = 0, index = 0;  // LinePlot::series[series].x/y[index]
  QPointF at;
};
struct DrawnPoints {
  std::vector<DrawnPoint> points;
  // A heatmap's cell matrix (empty rect when none was drawn): cell (i, j) spans heatmap.width()/cols wide, from
  // the top left, so hover values come from the spec's own values.
  QRectF heatmap;
  int64_t heatmap_rows = 0, heatmap_cols = 0;
};
// The drawn point nearest to `at` within max_distance (same units), or nullptr.
const DrawnPoint* nearest_point(const DrawnPoints& drawn, QPointF at, double max_distance);

// Draws the figure into `rect` (in the painter's logical coordinates). Text is sized so that a font
// of s points is s logical units tall whatever the device's resolution. `drawn` (optional) receives
// the position of every line-plot data point drawn, and a heatmap's cell matrix.
void render(const ps::plot::FigureSpec& spec, QPainter& painter, const QRectF& rect, const Style& style = {},
            DrawnPoints* drawn = nullptr);

enum class Format { pdf, svg, png };
// "pdf,svg,png" (any subset, any order); InputError on an unknown name or an empty list.
std::vector<Format> parse_formats(const std::string& list);
const char* extension(Format f);  // "pdf", "svg", "png"

struct SaveOptions {
  std::vector<Format> formats = {Format::pdf, Format::svg, Format::png};
  double width_in = ps::plot::kOneColumnInches;
  double height_in = 0;     // 0: the kind's default aspect (plot::default_aspect)
  int dpi = 300;            // PNG only; PDF and SVG are vector
  bool write_data = true;   // also path.csv and path.json (plot/export.h): exactly the numbers drawn
  Style style;
};

// Writes path.pdf / .svg / .png (each atomically) plus the data files; returns the paths written.
// PDF embeds its fonts (QPdfWriter subsets them); SVG keeps text as text, naming the font family.
// PDF and SVG page sizes are whole points (Qt's page model): 7.16 in is written as 516 pt.
std::vector<std::string> save_figure(const ps::plot::FigureSpec& spec, const std::string& path_without_ext,
                                     const SaveOptions& options = {});

// The figure as an image at `dpi` (white background): what save_figure writes as PNG.
QImage render_image(const ps::plot::FigureSpec& spec, double width_in, double height_in, int dpi,
                    const Style& style = {});
double figure_height(const ps::plot::FigureSpec& spec, const SaveOptions& options);  // inches

// Fonts and painting need a QGuiApplication. Creates one (platform "offscreen" unless QT_QPA_PLATFORM is
// set) when the process has none; call from the main thread. RuntimeError if a non-GUI
// QCoreApplication already exists.
void ensure_gui_application();

}  // namespace ps::render
