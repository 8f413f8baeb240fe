#include "analysis/plot/table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "models/util/csv.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::plot {

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> out;
  for (auto& r : csv::parse(text, source)) out.push_back(std::move(r.fields));
  return out;
}

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return int(i);
  std::string cols;
  for (const auto& h : header) cols += (cols.empty() ? "" : ", ") + h;
  throw InputError(where(source, "no column '" + name + "' (columns: " + cols + ")"));
}

CsvTable read_csv_table(const std::string& text, const std::string& source) {
  CsvTable t;
  t.source = source;
  auto recs = parse_csv(text, source);
  if (recs.empty()) throw InputError(where(source, "empty CSV (no header)"));
  t.header = std::move(recs[0]);
  for (size_t r = 1; r < recs.size(); ++r) {
    if (recs[r].size() != t.header.size())
      throw InputError(where(source, "record " + std::to_string(r + 1) + " has " + std::to_string(recs[r].size()) +
                                         " fields, the header has " + std::to_string(t.header.size())));
    t.rows.push_back(std::move(recs[r]));
    t.line.push_back(int(r + 1));
  }
  return t;
}

CsvTable read_csv_file(const std::string& path) { return read_csv_table(ps::read_file(path), path); }

bool parse_number(const std::string& cell, double& out) {
  size_t b = cell.find_first_not_of(" \t"), e = cell.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  const std::string s = cell.substr(b, e - b + 1);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

LinePlot lines_from_table(const CsvTable& t, const LineQuery& q) {
  const int xc = t.column(q.x), yc = t.column(q.y);
  const int loc = q.lo.empty() ? -1 : t.column(q.lo), hic = q.hi.empty() ? -1 : t.column(q.hi);
  if ((loc < 0) != (hic < 0)) throw InputError(where(t.source, "give both band columns (lo and hi) or neither"));
  std::vector<int> gc;
  for (const auto& g : q.group) gc.push_back(t.column(g));
  std::vector<std::pair<int, std::string>> filters;
  for (const auto& [col, value] : q.where) filters.emplace_back(t.column(col), value);

  struct Acc {
    double sum = 0, ymin = INFINITY, ymax = -INFINITY, lo = INFINITY, hi = -INFINITY;
    int64_t n = 0;
  };
  std::vector<std::string> order;                         // groups in order of first appearance
  std::map<std::string, std::map<double, Acc>> points;    // group -> x -> accumulated rows
  auto number = [&](size_t r, int c, const char* what) {
    double v;
    if (!parse_number(t.rows[r][c], v))
      throw InputError(where(t.source, "record " + std::to_string(t.line[r]) + ": " + what + " column '" +
                                           t.header[c] + "' is '" + t.rows[r][c] + "', not a number"));
    return v;
  };
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    if (!std::all_of(filters.begin(), filters.end(), [&](const auto& f) { return row[f.first] == f.second; }))
      continue;
    double y;
    if (!parse_number(row[yc], y)) {
      if (row[yc].find_first_not_of(" \t") == std::string::npos) continue;  // missing value
      number(r, yc, "y");
    }
    if (std::isnan(y)) continue;
    const double x = number(r, xc, "x");
    std::string key;
    for (size_t g = 0; g < gc.size(); ++g) key += (g ? " / " : "") + row[gc[g]];
    if (!points.count(key)) order.push_back(key);
    Acc& a = points[key][x];
    a.sum += y;
    a.ymin = std::min(a.ymin, y);
    a.ymax = std::max(a.ymax, y);
    if (loc >= 0) {
      a.lo = std::min(a.lo, number(r, loc, "band"));
      a.hi = std::max(a.hi, number(r, hic, "band"));
    }
    ++a.n;
  }
  LinePlot p;
  p.x.label = q.x;
  p.y.label = q.y;
  for (const auto& key : order) {
    Series s;
    s.name = key;
    bool band = loc >= 0;
    for (const auto& [x, a] : points[key]) {
      s.x.push_back(x);
      s.y.push_back(a.sum / double(a.n));
      s.count.push_back(a.n);
      s.lo.push_back(loc >= 0 ? a.lo : a.ymin);
      s.hi.push_back(loc >= 0 ? a.hi : a.ymax);
      band = band || a.n > 1;
    }
    if (!band) s.lo.clear(), s.hi.clear();  // every point is a single row: nothing to shade
    p.series.push_back(std::move(s));
  }
  if (p.series.empty()) throw InputError(where(t.source, "no rows left to plot (check --where and the y column)"));
  return p;
}

Heatmap heatmap_from_csv(const std::string& text, const std::string& source) {
  auto recs = parse_csv(text, source);
  if (recs.empty()) throw InputError(where(source, "empty matrix CSV"));
  double v;
  const bool header = std::any_of(recs[0].begin(), recs[0].end(), [&](const auto& c) { return !parse_number(c, v); });
  bool row_labels = header && recs[0][0].find_first_not_of(" \t") == std::string::npos;
  for (size_t r = header ? 1 : 0; r < recs.size(); ++r) row_labels = row_labels || !parse_number(recs[r][0], v);
  Heatmap h;
  const size_t first = header ? 1 : 0, skip = row_labels ? 1 : 0;
  if (recs.size() <= first) throw InputError(where(source, "matrix CSV has a header but no rows"));
  const size_t width = recs[first].size();
  if (width <= skip) throw InputError(where(source, "matrix CSV has no value columns"));
  h.rows = int64_t(recs.size() - first);
  h.cols = int64_t(width - skip);
  if (header) {
    if (recs[0].size() != width && recs[0].size() != width - skip)
      throw InputError(where(source, "header has " + std::to_string(recs[0].size()) + " cells, rows have " +
                                         std::to_string(width)));
    h.col_labels.assign(recs[0].end() - h.cols, recs[0].end());
  }
  for (size_t r = first; r < recs.size(); ++r) {
    if (recs[r].size() != width)
      throw InputError(where(source, "record " + std::to_string(r + 1) + " has " + std::to_string(recs[r].size()) +
                                         " fields, expected " + std::to_string(width)));
    if (row_labels) h.row_labels.push_back(recs[r][0]);
    for (size_t c = skip; c < width; ++c) {
      if (!parse_number(recs[r][c], v))
        throw InputError(where(source, "record " + std::to_string(r + 1) + ", field " + std::to_string(c + 1) + ": '" +
                                           recs[r][c] + "' is not a number"));
      h.values.push_back(v);
    }
  }
  return h;
}

std::vector<std::string> read_labels(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    start = nl + 1;
  }
  return out;
}

void apply_labels(Heatmap& h, const std::vector<std::string>& labels, const std::string& source) {
  const auto n = int64_t(labels.size());
  if (n != h.rows && n != h.cols)
    throw InputError(where(source, std::to_string(n) + " labels, but the matrix is " + std::to_string(h.rows) + " x " +
                                       std::to_string(h.cols)));
  if (n == h.rows) h.row_labels = labels;
  if (n == h.cols) h.col_labels = labels;
}

}  // namespace ps::plot
