#pragma once
// The numbers a figure draws, as CSV (one table per kind, for spreadsheets and re-plotting) and JSON
// (everything: titles, axes with the ticks drawn, colour range, data). Values are written in the
// shortest form that reads back to the same double.
#include <string>

#include "analysis/plot/figure.h"

namespace ps::plot {

// lines:   series,x,y,lo,hi,count          (lo/hi/count empty when the series has none)
// heatmap: a matrix: header "" + column labels (or indices), then row label (or index) + values;
//          plot heatmap --csv reads it back unchanged
// masks:   panel,query,keys                 (keys: one '0'/'1' per key position)
// trees:   tree,node,parent,label,begin,end,leaf,x,depth,matched
std::string to_csv(const FigureSpec& f);
std::string to_json(const FigureSpec& f, int indent = 1);

// Writes path + ".csv" and path + ".json" atomically.
void write_figure_data(const FigureSpec& f, const std::string& path_without_ext);

// Shortest round-trip text of a double ("0.1", "12", "nan", "inf").
std::string number_text(double v);
// One CSV cell, quoted when it holds a comma, quote or line break.
std::string csv_cell(const std::string& s);

}  // namespace ps::plot
