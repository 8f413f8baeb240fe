#include "app/study/best_layer.h"

#include <cmath>
#include <map>

#include "models/util/error.h"
#include "probes/results.h"

namespace ps::study {

int best_layer(const Task& task) {
  std::map<int, std::pair<double, int>> sums;  // layer → (sum, count)
  for (const auto& path : task.best_layer_from)
    for (const auto& r : ps::probes::read_results(path)) {
      if (r.control || r.model != task.best_layer_model || r.k != task.best_layer_k) continue;
      const double v = r.value(task.best_layer_metric);
      if (!std::isfinite(v)) continue;
      sums[r.layer].first += v;
      sums[r.layer].second += 1;
    }
  int best = -1;
  double best_mean = 0;
  for (const auto& [layer, sc] : sums) {
    const double mean = sc.first / sc.second;
    if (best < 0 || mean > best_mean) best = layer, best_mean = mean;
  }
  if (best < 0)
    throw InputError(task.id + ": no " + task.best_layer_metric + " rows for model " + task.best_layer_model + " at k " +
                     std::to_string(task.best_layer_k) + " in the earlier probe's results");
  return best;
}

}  // namespace ps::study
