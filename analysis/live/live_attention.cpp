// Attention on AST edges for one live snippet: analysis/attention's ast_fraction (attention_stats.h), over the
// query rows the forward captured.
#include <cstddef>

#include "analysis/live/live.h"
#include "models/util/error.h"

namespace ps::live {

std::vector<HeadAstFraction> ast_fractions(const ForwardStates& states, const TokenView& tokens, const GoldSyntax& gold,
                                           int max_tree_distance) {
  const size_t W = tokens.words.size();
  if (gold.word_distance.size() != W * W)
    throw RuntimeError("live attention: " + std::to_string(gold.word_distance.size()) + " tree distances for " +
                       std::to_string(W) + " words");
  const auto neighbour = [&](int wq, int wk) {
    return wq >= 0 && wk >= 0 && wq != wk && gold.word_distance[size_t(wq) * W + size_t(wk)] <= max_tree_distance;
  };
  std::vector<HeadAstFraction> out;
  for (const Pattern& p : states.patterns) {
    if (p.keys != int64_t(tokens.word_of.size()))
      throw RuntimeError("live attention: pattern over " + std::to_string(p.keys) + " keys for " +
                         std::to_string(tokens.word_of.size()) + " tokens");
    HeadAstFraction mean{p.layer, -1, 0, 0};
    for (int64_t h = 0; h < p.heads; ++h) {
      HeadAstFraction f{p.layer, int(h), 0, 0};
      for (int64_t q = p.first_row; q < p.first_row + p.rows; ++q) {
        const int wq = tokens.word_of[size_t(q)];
        if (wq < 0) continue;  // specials and whitespace are no code token's query
        double mass = 0, ast = 0;
        for (int64_t k = 0; k < p.keys; ++k) {
          const double a = p.at(h, q, k);
          mass += a;
          if (neighbour(wq, tokens.word_of[size_t(k)])) ast += a;
        }
        if (mass > 0) f.fraction += ast / mass, ++f.queries;
      }
      if (f.queries > 0) f.fraction /= double(f.queries);
      mean.fraction += f.fraction / double(p.heads);
      mean.queries = f.queries;
      out.push_back(f);
    }
    out.push_back(mean);
  }
  return out;
}

}  // namespace ps::live
