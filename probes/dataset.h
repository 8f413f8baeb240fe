#pragma once
// Plain data the probes consume: one vector per code token plus the gold (d, c, u) encoding of the
// snippet's binarized AST (spec ast-probe.md §1). No torch, no HDF5 — the caller fills these.
#include <cstdint>
#include <string>
#include <vector>

namespace ps::probes {

struct ProbeSample {
  int n_words = 0;
  std::vector<float> vectors;  // n_words × dim, row-major
  std::vector<int32_t> d;      // n_words-1 syntactic distances (height of the LCA of tokens i, i+1)
  std::vector<int32_t> c;      // n_words-1 constituent label ids (into the c vocabulary)
  std::vector<int32_t> u;      // n_words unary label ids (into the u vocabulary)
};

struct ProbeDataset {
  int dim = 0;
  int n_c_labels = 0;
  int n_u_labels = 0;
  std::vector<ProbeSample> samples;
};

// A label vocabulary and the id of its "<empty>" label (-1 if it has none).
struct LabelVocab {
  std::vector<std::string> labels;
  int32_t empty_id = -1;
};

// What the tree decoder needs to turn ids back into labelled constituents.
struct DecodeVocab {
  LabelVocab c;
  LabelVocab u;
  std::string sep = "<sep>";  // merged unary chains are labelled "A<sep>B"
};

// Throws InputError("<name>: sample i: problem") on inconsistent sizes, ids out of range, negative d,
// non-finite vectors, or samples with no words. `name` identifies the source (file or split).
void validate(const ProbeDataset& ds, const std::string& name);

// Total number of words over all samples.
int64_t total_words(const ProbeDataset& ds);

}  // namespace ps::probes
