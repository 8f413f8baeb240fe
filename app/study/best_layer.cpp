#include "app/study/best_layer.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "data/store/reader.h"
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
  if (task.best_layer_ref_store.empty()) return best;
  const int ref_layers = ps::store::StoreReader(task.best_layer_ref_store).n_layers();
  const int own_layers = ps::store::StoreReader(task.best_layer_own_store).n_layers();
  if (ref_layers <= 0 || own_layers <= 0 || ref_layers == own_layers) return best;
  // A checkpoint from before the model grew in depth (train --init-stack): the same relative depth, so the
  // embeddings stay the embeddings and the top stays the top.
  const int mapped = int(std::lround(double(best) * own_layers / ref_layers));
  std::fprintf(stderr, "%s: best layer %d of %s (0..%d) is layer %d of this model (0..%d) at the same relative depth\n",
               task.id.c_str(), best, task.best_layer_model.c_str(), ref_layers, mapped, own_layers);
  return mapped;
}

}  // namespace ps::study
