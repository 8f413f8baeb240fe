#pragma once
// Control baseline for AST-Probe: relabel c and u by a random permutation chosen per token type.
#include <cstdint>
#include <vector>

#include "probes/dataset.h"

namespace ps::probes {

// For every token type T a seeded permutation π_T of the non-<empty> labels is drawn (from seed and T
// only, so it is the same in every split); then u[i] ← π^u_{type(i)}(u[i]) and c[i] ← π^c_{type(i)}(c[i]),
// where c[i] (between tokens i and i+1) is keyed by its left token. <empty> ids stay fixed so the
// tree shapes, and hence the number of constituents, are unchanged; vectors and d are copied.
// token_types[s] holds n_words type ids for sample s. Throws InputError on size mismatch.
ProbeDataset shuffle_labels_by_token_type(const ProbeDataset& ds, const std::vector<std::vector<int32_t>>& token_types,
                                          int32_t c_empty, int32_t u_empty, uint64_t seed);

}  // namespace ps::probes
