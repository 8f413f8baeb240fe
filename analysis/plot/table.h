#pragma once
// Results CSVs into plot specs: any table with a header (probe sweeps: model,language,layer,k,seed,f1…;
// intrinsic dimension: layer,estimator,id,lo,hi) into a line plot, and a numeric matrix into a heatmap.
#include <string>
#include <utility>
#include <vector>

#include "analysis/plot/figure.h"

namespace ps::plot {

// RFC 4180 records: comma-separated, "quoted" fields with "" escapes, LF or CRLF line ends; blank
// lines are skipped. InputError("source: line N: …") on an unterminated quote.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source);

struct CsvTable {
  std::string source;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() cells
  std::vector<int> line;                       // 1-based record number of each row (header = 1)
  int column(const std::string& name) const;   // InputError listing the columns when absent
};
CsvTable read_csv_table(const std::string& text, const std::string& source);  // first record = header
CsvTable read_csv_file(const std::string& path);

// Strict number: the whole cell must parse ("nan", "inf" allowed); false otherwise.
bool parse_number(const std::string& cell, double& out);

struct LineQuery {
  std::string x, y;                 // column names
  std::vector<std::string> group;   // series = distinct values of these columns, joined by " / "
  std::string lo, hi;               // optional band columns
  std::vector<std::pair<std::string, std::string>> where;  // keep rows with column == value
};

// One series per group (in order of first appearance), points sorted by x. Rows sharing (group, x) are
// averaged; the band is then [min lo, max hi] over them when lo/hi are given, else [min y, max y].
// Rows whose y is empty or NaN are skipped; any other non-number is an InputError naming the line.
// Axis labels default to the column names.
LinePlot lines_from_table(const CsvTable& table, const LineQuery& q);

// A numeric matrix CSV. The first record is a header (column labels) when any cell in it is not a
// number; the first column holds row labels when a data row starts with a non-number or the header's
// first cell is empty. Rows must have equal lengths.
Heatmap heatmap_from_csv(const std::string& text, const std::string& source);

// One label per line (a trailing newline is not a label; "\r" is dropped). Assigned to rows when the
// count equals the rows, to columns when it equals the columns (both when square); InputError otherwise.
std::vector<std::string> read_labels(const std::string& text);
void apply_labels(Heatmap& h, const std::vector<std::string>& labels, const std::string& source);

}  // namespace ps::plot
