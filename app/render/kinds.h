#pragma once
// One drawing function per figure kind (internal to ps_render).
#include "analysis/plot/figure.h"
#include "app/render/canvas.h"

namespace ps::render {

void render_lines(const ps::plot::LinePlot& p, Canvas& c, const QRectF& rect, DrawnPoints* drawn = nullptr);
void render_heatmap(const ps::plot::Heatmap& h, Canvas& c, const QRectF& rect, DrawnPoints* drawn = nullptr);
void render_masks(const ps::plot::MaskFigure& m, Canvas& c, const QRectF& rect);
void render_trees(const ps::plot::TreePair& t, Canvas& c, const QRectF& rect);

}  // namespace ps::render
