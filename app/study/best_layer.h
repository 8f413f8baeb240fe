#pragma once
// A probe task's "{best-layer}": the layer an earlier probe found best on validation (what the quickstart's
// phase B probes: every k at the best layer of the k = 64 layer curve).
#include "app/study/plan.h"

namespace ps::study {

// Among task.best_layer_from (results.json files), real task, model task.best_layer_model, k task.best_layer_k:
// the layer with the highest mean of task.best_layer_metric over seeds (the first such layer on ties).
// InputError naming the files when there is no such row. When the task's model has another depth than the
// reference (task.best_layer_*_store), the layer at the same relative depth, round(best * own / reference).
int best_layer(const Task& task);

}  // namespace ps::study
