// Store → datasets: seeded splits, labels and tree distances read back equal to what was planted,
// layer specs, and the structural/linear probe files.
#include <gtest/gtest.h>

#include <map>

#include "models/util/error.h"
#include "probes/linear.h"
#include "probes/store_data.h"
#include "probes/structural.h"
#include "data/store/manifest_fields.h"
#include "data/store/writer.h"
#include "store_planted.h"

using namespace ps::probes;

TEST(StoreData, SplitIsASeededFunctionOfTheIdWithTheRequestedFractions) {
  SplitOptions o;
  int count[3] = {0, 0, 0}, moved = 0;
  SplitOptions other = o;
  other.seed = 124;
  for (int i = 0; i < 20000; ++i) {
    const std::string id = "file.py:" + std::to_string(i);
    const Split s = split_of(id, o);
    EXPECT_EQ(s, split_of(id, o));
    ++count[static_cast<int>(s)];
    moved += s != split_of(id, other);
  }
  EXPECT_NEAR(count[0] / 20000.0, 0.8, 0.015);
  EXPECT_NEAR(count[1] / 20000.0, 0.1, 0.01);
  EXPECT_NEAR(count[2] / 20000.0, 0.1, 0.01);
  EXPECT_GT(moved, 4000);  // another seed is another split
  parse_split("6,2,2", o);
  EXPECT_DOUBLE_EQ(o.train, 6);
  EXPECT_THROW(parse_split("0.8,0.2", o), ps::InputError);
  EXPECT_THROW(parse_split("0.8,x,0.1", o), ps::InputError);
  EXPECT_THROW(parse_split("1,0,0", o), ps::InputError);
}

TEST(StoreData, LabelsTypesAndDistancesReadBackAsPlanted) {
  const std::string dir = planted::fresh_dir("store_data_labels");
  planted::PlantedStoreOptions po;
  po.n_snippets = 60;
  const planted::PlantedStore planted = planted::write_planted_store(dir + "/p.h5", po);
  ps::store::StoreReader r(dir + "/p.h5");
  LabelOptions lo;
  lo.depths = lo.distances = true;
  SplitOptions so;
  const StoreLabels L = read_store_labels(r, so, lo);
  EXPECT_EQ(L.model, "planted");
  EXPECT_EQ(L.language, "python");
  EXPECT_EQ(L.layers, (std::vector<int>{0, 1, 2}));
  size_t used = 0;
  for (int k = 0; k < 3; ++k) used += L.snippets[k].size();
  EXPECT_EQ(used, 59u);  // the empty snippet is in no split
  const DecodeVocab pv = planted::planted_vocab();
  std::map<int32_t, int32_t> type_of_input;  // planted input id → type id must be a bijection
  for (int k = 0; k < 3; ++k)
    for (int64_t i : L.snippets[k]) {
      EXPECT_EQ(split_of(L.ids[i], so), static_cast<Split>(k));
      std::vector<int32_t> d, c, u;
      planted::tree_to_dcu(planted.trees[i], d, c, u);
      ASSERT_EQ(L.d[i], d);
      for (size_t j = 0; j < c.size(); ++j) EXPECT_EQ(L.vocab.c.labels[L.c[i][j]], pv.c.labels[c[j]]);
      for (size_t j = 0; j < u.size(); ++j) EXPECT_EQ(L.vocab.u.labels[L.u[i][j]], pv.u.labels[u[j]]);
      EXPECT_EQ(L.distances[i], planted::planted_distances(planted.trees[i]));
      EXPECT_EQ(L.depths[i], planted::planted_depths(planted.trees[i]));
      for (size_t j = 0; j < L.types[i].size(); ++j) {
        auto [it, fresh] = type_of_input.emplace(planted.types[i][j], L.types[i][j]);
        EXPECT_EQ(it->second, L.types[i][j]);
      }
    }
  std::map<int32_t, int> seen;
  for (auto [in, t] : type_of_input) EXPECT_EQ(++seen[t], 1);
  EXPECT_EQ(L.vocab.c.labels[L.vocab.c.empty_id], "<empty>");

  // One layer, streamed: the split vectors are the stored rows.
  LayerSplits ls = read_layer(r, L, 1);
  EXPECT_EQ(ls.dim, 64);
  const int64_t i0 = L.snippets[0][0];
  const auto m = r.acts(ps::store::act_name(ps::store::Rows::words, 1), i0);
  EXPECT_EQ(ls.vectors[0][0], m.data);
  const ProbeDataset train = take_probe_dataset(ls, L, Split::train);
  EXPECT_NO_THROW(validate(train, "train"));
  EXPECT_EQ(train.samples.size(), L.snippets[0].size());
  EXPECT_EQ(train.samples[0].vectors, m.data);

  EXPECT_EQ(ps::store::resolve_layers("all", L.layers, "p", 0), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ps::store::resolve_layers("-1", L.layers, "p", 0), (std::vector<int>{2}));
  EXPECT_EQ(ps::store::resolve_layers("2,0,2", L.layers, "p", 0), (std::vector<int>{2, 0}));
  EXPECT_THROW(ps::store::resolve_layers("5", L.layers, "p", 0), ps::InputError);
  EXPECT_THROW(ps::store::resolve_layers("-4", L.layers, "p", 0), ps::InputError);
  EXPECT_THROW(ps::store::resolve_layers("one", L.layers, "p", 0), ps::InputError);

  SplitOptions capped;
  capped.max_train = 5;
  EXPECT_EQ(read_store_labels(r, capped, {}).snippets[0].size(), 5u);

  // --split corpus: the corpus's own splits from snippet_meta; snippets without one are unused.
  SplitOptions corpus;
  parse_split("corpus", corpus);
  const StoreLabels C = read_store_labels(r, corpus, {});
  size_t n_corpus = 0;
  for (int k = 0; k < 3; ++k)
    for (int64_t i : C.snippets[k]) {
      EXPECT_EQ(planted::planted_corpus_split(static_cast<int>(i)), k);
      ++n_corpus;
    }
  size_t want = 0;
  for (int i = 0; i < 60; ++i) want += !planted.trees[i].nodes.empty() && planted::planted_corpus_split(i) >= 0;
  EXPECT_EQ(n_corpus, want);
  // With the model's depth known (manifest n_layers), -1 is the model's last layer, stored or not.
  EXPECT_THROW(ps::store::resolve_layers("-1", {0, 4, 8}, "p", 12), ps::InputError);
  EXPECT_EQ(ps::store::resolve_layers("-1,-13", {0, 4, 12}, "p", 12), (std::vector<int>{12, 0}));
}

TEST(StoreData, MissingLabelsOrTablesAreInputErrors) {
  using namespace ps::store;
  const std::string dir = planted::fresh_dir("store_data_missing");
  // Two words, one layer, no syntax and no tables.
  SnippetBatch b;
  Snippet sn;
  sn.id = "x";
  sn.input_ids = {1, 2};
  sn.char_spans = {{0, 1}, {2, 3}};
  sn.word_spans = sn.char_spans;
  sn.word_subwords = {{0, 1}, {1, 2}};
  b.snippets.push_back(sn);
  b.acts[act_name(Rows::words, 0)] = ActBlock{Rows::words, DType::f32, Block(DType::f32, 2)};
  const float rows[4] = {1, 2, 3, 4};
  b.acts[act_name(Rows::words, 0)].data.append(rows, 2);
  {
    WriterOptions wo;
    wo.mode = WriterOptions::Mode::overwrite;
    StoreWriter w(dir + "/bare.h5", {{"model_path", "m"}}, wo);
    w.append(b);
    w.finish();
  }
  StoreReader r(dir + "/bare.h5");
  EXPECT_THROW(read_store_labels(r, {}, {}), ps::InputError);  // no syntax
  LabelOptions lo;
  lo.syntax = false;
  lo.distances = true;
  try {
    read_store_labels(r, {}, lo);
    ADD_FAILURE() << "no error";
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("structural"), std::string::npos) << e.what();
  }
  lo.distances = false;
  const StoreLabels L = read_store_labels(r, {}, lo);  // words and types only: fine
  EXPECT_EQ(L.model, "bare");                           // no model_label: the file stem
  EXPECT_EQ(L.types[0].size(), 2u);
  LayerSplits ls = read_layer(r, L, 0);
  EXPECT_THROW(take_structural_dataset(ls, L, Split::train, true), ps::InputError);
  EXPECT_THROW(read_layer(r, L, 3), ps::InputError);
}

TEST(ProbeFiles, StructuralAndLinearRoundTripAndRejectBadFiles) {
  const std::string dir = planted::fresh_dir("probe_files");
  SavedStructuralProbe s;
  s.probe.kind = StructuralKind::Depth;
  s.probe.dim = 3, s.probe.rank = 2;
  s.probe.B = {1, 2, 3, 4, 5, 6};
  s.layer = 7;
  s.metadata = {{"model", "m"}};
  save_structural_probe(dir + "/s.safetensors", s);
  const SavedStructuralProbe s2 = load_structural_probe(dir + "/s.safetensors");
  EXPECT_EQ(s2.probe.B, s.probe.B);
  EXPECT_EQ(s2.probe.kind, StructuralKind::Depth);
  EXPECT_EQ(s2.probe.rank, 2);
  EXPECT_EQ(s2.layer, 7);
  EXPECT_EQ(s2.metadata, s.metadata);
  SavedLinearProbe l;
  l.probe.dim = 2, l.probe.n_labels = 3;
  l.probe.W = {1, 2, 3, 4, 5, 6};
  l.probe.b = {0.5f, -1, 2};
  l.labels = {"<empty>", "a", "b"};
  l.layer = 1;
  save_linear_probe(dir + "/l.safetensors", l);
  const SavedLinearProbe l2 = load_linear_probe(dir + "/l.safetensors");
  EXPECT_EQ(l2.probe.W, l.probe.W);
  EXPECT_EQ(l2.probe.b, l.probe.b);
  EXPECT_EQ(l2.labels, l.labels);
  // Wrong kind of file, wrong sizes, reserved metadata.
  EXPECT_THROW(load_linear_probe(dir + "/s.safetensors"), ps::InputError);
  EXPECT_THROW(load_structural_probe(dir + "/l.safetensors"), ps::InputError);
  l.probe.b.pop_back();
  EXPECT_THROW(save_linear_probe(dir + "/bad.safetensors", l), ps::InputError);
  s.metadata["ps.kind"] = "x";
  EXPECT_THROW(save_structural_probe(dir + "/bad.safetensors", s), ps::InputError);
}
