#pragma once
// Attention patterns from the activation store (table attn/layer_L, column "pattern": snippet i holds
// its [head, q, k] pattern row-major) as heatmap specs with token labels.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/plot/figure.h"

namespace ps::store {
class StoreReader;
}
namespace ps::tok {
class Tokenizer;
}

namespace ps::plot {

struct AttentionPattern {
  int layer = 0;
  int64_t heads = 0, n = 0;
  std::vector<float> values;  // heads x n x n
};

// Layers that have an attention table, ascending.
std::vector<int> attention_layers(const ps::store::StoreReader& store);

// Snippet i's pattern at `layer` (negative: counts from the last stored attention layer). InputError
// naming the store when the snippet or layer is missing or the row count is not heads * n * n.
AttentionPattern load_attention(const ps::store::StoreReader& store, int64_t snippet, int layer);

// Token labels: decoded with the tokenizer when given (whitespace made visible), else the token ids.
std::vector<std::string> token_labels(const std::vector<int32_t>& ids, const ps::tok::Tokenizer* tokenizer);
// A short, printable label for one decoded token: surrounding spaces dropped (a token that is only
// spaces becomes "␣"), newlines "↵", tabs "⇥", other control bytes "·".
std::string readable_token(const std::string& decoded);

// head >= 0: that head; head < 0: the mean over heads. Rows = queries, columns = keys, colour range [0, 1].
Heatmap attention_heatmap(const AttentionPattern& p, int head, const std::vector<std::string>& labels,
                          const std::string& title = "");

}  // namespace ps::plot
