#pragma once
// Probescope as a library: the one header to include. Link probescope::probescope (find_package(probescope)
// after an install, or the in-tree target of the same name) and include this; examples/ shows both.
//
// The flow, with the header for each step:
//   open a model          models::open_model (directory | random weights | preset) → Engine + tokenizer
//   run it                Engine::run(token ids, Capture{hooks}, RunOptions) → per-hook [len, d] tensors
//   extract to a store    extract::extract (corpus JSONL → HDF5 activation store)
//   read a store          store::StoreReader (manifest, layers, per-word vectors, syntax labels)
//   fit probes            probes::read_store_labels / read_layer / train_ast_probe / evaluate_predictions,
//                         or probes::run_probe_sweep for stores × layers × k × seeds
//   estimate dimension    analysis::id_by_layer (TwoNN, MLE, PCA per layer of a store)
// Errors: InputError (bad input, names the file and field) and RuntimeError, both ps::Error (models/util/error.h).
// Everything under a folder's detail/ is internal to its library and may change without notice.

#include "models/util/error.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/transformer.h"
#include "models/transformer/engine.h"
#include "models/open/open_model.h"

#include "data/syntax/parse.h"
#include "data/syntax/labelled_tree.h"
#include "data/store/reader.h"
#include "data/extract/extract.h"

#include "probes/store_data.h"
#include "probes/ast_probe.h"
#include "probes/structural.h"
#include "probes/linear.h"
#include "probes/metrics.h"
#include "probes/sweep.h"
#include "probes/show.h"

#include "analysis/id/intrinsic_dimension.h"
#include "analysis/id/layer_sweep.h"
#include "analysis/attention/attention_stats.h"
