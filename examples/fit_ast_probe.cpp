// Fit an AST-Probe from an activation store: read the store's labels and one layer's word vectors, train on
// the train split (early stopping on valid) and print the test F1 of the recovered constituency trees.
//   fit_ast_probe STORE.h5 [LAYER] [K]     (LAYER defaults to the last stored layer, K to 32)
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "probescope.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s STORE.h5 [LAYER] [K]\n", argv[0]);
    return 2;
  }
  namespace probes = ps::probes;
  try {
    const ps::store::StoreReader reader(argv[1]);
    probes::SplitOptions split;  // 80/10/10 by a seeded hash of the snippet id
    const probes::StoreLabels labels = probes::read_store_labels(reader, split, probes::LabelOptions{});
    if (labels.layers.empty()) throw ps::InputError(std::string(argv[1]) + ": no word-level layers");
    const int layer = argc > 2 ? std::atoi(argv[2]) : labels.layers.back();

    probes::LayerSplits vectors = probes::read_layer(reader, labels, layer);
    // Unit RMS per coordinate with the train split's statistics (what `probescope probe ast` does by default).
    std::vector<const std::vector<float>*> train_rows;
    for (const auto& v : vectors.vectors[0]) train_rows.push_back(&v);
    const probes::Normalization norm = probes::fit_normalization(probes::NormalizeMode::scale, train_rows, vectors.dim);
    for (auto& split : vectors.vectors)
      for (auto& v : split) norm.apply(v, vectors.dim);
    const probes::ProbeDataset train = probes::take_probe_dataset(vectors, labels, probes::Split::train);
    const probes::ProbeDataset valid = probes::take_probe_dataset(vectors, labels, probes::Split::valid);
    const probes::ProbeDataset test = probes::take_probe_dataset(vectors, labels, probes::Split::test);

    probes::AstProbeConfig cfg;
    cfg.rank = argc > 3 ? std::atoi(argv[3]) : 32;
    cfg.lr = 1e-2;
    cfg.steps_per_epoch = 0;  // one pass per epoch keeps this example quick; the CLI's default is 625 steps
    cfg.seed = 1;
    const probes::AstProbeFit fit = probes::train_ast_probe(train, valid, cfg);
    const probes::AstProbeMetrics m =
        probes::evaluate_predictions(probes::predict_ast_probe(fit.model, test, labels.vocab), test, labels.vocab);

    std::printf("%s layer %d k %d: %lld test snippets, F1 %.3f (macro) %.3f (micro), best epoch %d\n",
                labels.model.c_str(), layer, cfg.rank, static_cast<long long>(m.n_snippets), m.macro.f1, m.micro.f1,
                fit.best_epoch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fit_ast_probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
