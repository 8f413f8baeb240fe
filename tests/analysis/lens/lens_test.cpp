// The logit lens and MLM fillers: layer n equals the forward's logits bit for bit; every layer equals a
// computation written here from the raw Hugging Face tensors (ln_f / model.norm / lm_head.* by name, not the
// model's code); the CLI writes the same table; bad inputs get one-line errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/lens/logit_lens.h"
#include "analysis/plot/table.h"
#include "models/open/open_model.h"
#include "models/tokenizer/tokenizer.h"
#include "models/transformer/transformer.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/data/extract/extract_fixture.h"
#include "tests/models/transformer/tiny_models.h"

namespace {

namespace fs = std::filesystem;
namespace fx = ps::extract::testing;
using ps::test::Tiny;

constexpr int32_t kBos = fx::kRobertaBos, kMask = fx::kRobertaMask;
const char* kCode = "def add(a, b):\n    return a + b\n";


struct Tiny3 {
  std::string dir;
  ps::test::TinySpec spec;
};

// A tiny model of `kind` with the fixture's tokenizer (vocab 280 covers its ids); `strip` drops tensors by prefix.
Tiny3 make(Tiny kind, const std::string& strip = "") {
  Tiny3 m;
  m.dir = fx::temp_dir(std::string("lens-") + ps::test::tiny_name(kind));
  ps::test::TinyDims dims;
  dims.vocab = 280;
  dims.positions = 64;
  m.spec = ps::test::tiny_spec(kind, 3, dims);
  if (!strip.empty())
    for (auto it = m.spec.tensors.begin(); it != m.spec.tensors.end();)
      it = it->first.rfind(strip, 0) == 0 ? m.spec.tensors.erase(it) : std::next(it);
  ps::test::write_model(m.dir, m.spec);
  const std::string tok = fx::tiny_model_dir() + "/tokenizer.json";
  ps::write_file_atomic(m.dir + "/tokenizer.json",
                        kind == Tiny::RoBERTa ? fx::roberta_tokenizer_json() : ps::read_file(tok));
  return m;
}

ps::models::OpenedModel open(const std::string& dir) {
  ps::models::LoadOptions lo;
  lo.dtype = "float32";
  lo.threads = 1;
  return ps::models::open_model(ps::models::ModelSource::directory(dir), lo);
}

// hidden_states.0..n of one sequence straight from Transformer::forward.
std::vector<at::Tensor> hidden(const ps::models::Transformer& m, const std::vector<int32_t>& ids) {
  ps::models::ForwardInput in;
  in.input_ids = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).unsqueeze(0);
  ps::models::Capture c;
  for (int l = 0; l <= m.arch().n_layers; ++l) c.hooks.insert("hidden_states." + std::to_string(l));
  const auto out = m.forward(in, c);
  std::vector<at::Tensor> h;
  for (int l = 0; l <= m.arch().n_layers; ++l) h.push_back(out.hooks.at("hidden_states." + std::to_string(l))[0]);
  return h;
}

// The reference head, in float64, from the raw HF tensors by name.
at::Tensor reference_logits(Tiny kind, const ps::test::TinySpec& s, const at::Tensor& h, int layer, int n_layers) {
  auto W = [&](const std::string& n) { return s.tensors.at(n).to(at::kDouble); };
  auto x = h.to(at::kDouble);
  if (kind == Tiny::GPT2) {
    if (layer < n_layers) x = at::layer_norm(x, {x.size(-1)}, W("transformer.ln_f.weight"), W("transformer.ln_f.bias"), 1e-5);
    return at::matmul(x, W("transformer.wte.weight").t());  // tied
  }
  if (kind == Tiny::LLaMA) {
    if (layer < n_layers) x = W("model.norm.weight") * x * at::rsqrt(x.pow(2).mean(-1, true) + 1e-6);
    return at::matmul(x, W("lm_head.weight").t());
  }
  // RoBERTa masked-LM head: dense, exact gelu, LayerNorm, decoder tied to the word embeddings, bias.
  auto y = at::matmul(x, W("lm_head.dense.weight").t()) + W("lm_head.dense.bias");
  y = 0.5 * y * (1 + at::erf(y / std::sqrt(2.0)));
  y = at::layer_norm(y, {y.size(-1)}, W("lm_head.layer_norm.weight"), W("lm_head.layer_norm.bias"), 1e-5);
  return at::matmul(y, W("roberta.embeddings.word_embeddings.weight").t()) + W("lm_head.bias");
}

// Every cell's top-k ids and probabilities against the reference softmax of that layer's logits.
void expect_cells_match(const ps::lens::LensTable& t, int64_t row, int64_t col, const at::Tensor& ref_logits) {
  const auto p = at::softmax(ref_logits, -1);
  const auto [v, i] = at::topk(p, t.k);
  for (int64_t j = 0; j < t.k; ++j) {
    const auto& got = t.at(row, col, j);
    EXPECT_NEAR(got.prob, v[j].item<double>(), 2e-5) << "layer " << row << " col " << col << " rank " << j;
    // Near-ties may swap order in float32; the probability of the id named must still match.
    EXPECT_NEAR(p[got.id].item<double>(), got.prob, 2e-5) << "layer " << row << " col " << col << " rank " << j;
    EXPECT_NEAR(ref_logits[got.id].item<double>(), got.logit, 1e-3);
  }
}

class DecoderLens : public ::testing::TestWithParam<Tiny> {};

TEST_P(DecoderLens, LastLayerIsTheModelsLogitsAndEveryLayerMatchesTheRawWeights) {
  const auto m = make(GetParam());
  const auto opened = open(m.dir);
  const auto& model = opened.engine->model();
  const auto ids = opened.tokenizer->encode(kCode).ids;
  ASSERT_GE(ids.size(), 8u);
  const int n = int(model.arch().n_layers);

  // Layer n through the lens is the forward's own logits, exactly.
  ps::models::ForwardInput in;
  in.input_ids = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).unsqueeze(0);
  ps::models::Capture c;
  c.logits = true;
  const auto logits = model.forward(in, c).logits[0];
  const auto h = hidden(model, ids);
  EXPECT_TRUE(at::equal(ps::lens::lens_logits(model, h[size_t(n)], n), logits));

  const auto t = ps::lens::logit_lens(*opened.engine, *opened.tokenizer, ids, 4, opened.engine->options());
  ASSERT_EQ(t.rows(), n + 1);
  ASSERT_EQ(t.cols(), int64_t(ids.size()));
  EXPECT_FALSE(t.masked_lm);
  for (int64_t r = 0; r <= n; ++r)
    for (int64_t p = 0; p < t.cols(); ++p)
      expect_cells_match(t, r, p, reference_logits(GetParam(), m.spec, h[size_t(r)][p], int(r), n));
  // The last row's top-1 is the argmax of the real logits; targets are the next input tokens.
  for (int64_t p = 0; p < t.cols(); ++p) {
    EXPECT_EQ(t.at(n, p, 0).id, logits[p].argmax().item<int64_t>());
    EXPECT_EQ(t.target[size_t(p)], p + 1 < t.cols() ? opened.tokenizer->decode({ids[size_t(p + 1)]}, false) : "");
    EXPECT_EQ(t.at(n, p, 0).text, opened.tokenizer->decode({t.at(n, p, 0).id}, false));
  }
  // The lens changes with depth (the layers are not copies of the last one).
  bool differs = false;
  for (int64_t p = 0; p < t.cols(); ++p) differs |= t.at(0, p, 0).prob != t.at(n, p, 0).prob;
  EXPECT_TRUE(differs);
}

INSTANTIATE_TEST_SUITE_P(Families, DecoderLens, ::testing::Values(Tiny::GPT2, Tiny::LLaMA),
                         [](const auto& i) { return std::string(ps::test::tiny_name(i.param)); });

TEST(MlmFillers, MaskedPositionByLayerMatchesTheRawWeights) {
  const auto m = make(Tiny::RoBERTa);
  const auto opened = open(m.dir);
  const auto& model = opened.engine->model();
  const auto ids = opened.tokenizer->encode(kCode).ids;
  ASSERT_EQ(ids.front(), kBos);
  const int64_t pos = 5;
  const auto t = ps::lens::mlm_fillers(*opened.engine, *opened.tokenizer, ids, pos, 5, opened.engine->options());
  ASSERT_TRUE(t.masked_lm);
  ASSERT_EQ(t.rows(), model.arch().n_layers + 1);
  ASSERT_EQ(t.cols(), 1);
  EXPECT_EQ(t.positions[0], pos);
  EXPECT_EQ(t.input[0], "<mask>");
  EXPECT_EQ(t.target[0], opened.tokenizer->decode({ids[size_t(pos)]}, false));

  auto masked = ids;
  masked[size_t(pos)] = kMask;
  const auto h = hidden(model, masked);
  for (int64_t r = 0; r < t.rows(); ++r)
    expect_cells_match(t, r, 0, reference_logits(Tiny::RoBERTa, m.spec, h[size_t(r)][pos], int(r), 2));
  // The last layer is the masked LM's real prediction at that position.
  ps::models::ForwardInput in;
  in.input_ids = at::tensor(std::vector<int64_t>(masked.begin(), masked.end()), at::kLong).unsqueeze(0);
  ps::models::Capture c;
  c.logits = true;
  EXPECT_EQ(t.at(t.rows() - 1, 0, 0).id, model.forward(in, c).logits[0][pos].argmax().item<int64_t>());
}

template <class F>
void expect_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << needle;
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(LensErrors, OneLineRefusals) {
  const auto dec = open(make(Tiny::LLaMA).dir);
  const auto enc = open(make(Tiny::RoBERTa).dir);
  const auto headless = open(make(Tiny::RoBERTa, "lm_head.").dir);
  const auto ids = dec.tokenizer->encode(kCode).ids;
  const auto run = dec.engine->options();
  expect_error([&] { ps::lens::logit_lens(*enc.engine, *enc.tokenizer, ids, 3, run); }, "--position");
  expect_error([&] { ps::lens::mlm_fillers(*dec.engine, *dec.tokenizer, ids, 1, 3, run); }, "masked-LM encoder");
  expect_error([&] { ps::lens::mlm_fillers(*headless.engine, *headless.tokenizer, ids, 1, 3, run); }, "no masked-LM head");
  expect_error([&] { ps::lens::mlm_fillers(*enc.engine, *enc.tokenizer, ids, int64_t(ids.size()), 3, run); }, "--position");
  expect_error([&] { ps::lens::logit_lens(*dec.engine, *dec.tokenizer, ids, 0, run); }, "--top");
  expect_error([&] { ps::lens::logit_lens(*dec.engine, *dec.tokenizer, {}, 3, run); }, "no tokens");
  // A decoder's tokenizer has no mask token.
  expect_error([&] { ps::lens::mask_token_id(*dec.tokenizer); }, "no mask token");
}

TEST(LensFigure, HeatmapAndCsvCarryTheTable) {
  const auto opened = open(make(Tiny::GPT2).dir);
  const auto ids = opened.tokenizer->encode(kCode).ids;
  const auto t = ps::lens::logit_lens(*opened.engine, *opened.tokenizer, ids, 2, opened.engine->options());
  const auto h = ps::lens::lens_heatmap(t, "lens");
  ASSERT_EQ(h.rows, t.rows());
  ASSERT_EQ(h.cols, t.cols());
  ASSERT_EQ(h.cell_labels.size(), size_t(h.rows * h.cols));
  EXPECT_DOUBLE_EQ(h.values[size_t(h.cols + 2)], t.at(1, 2, 0).prob);
  // Read back with the plot tables' CSV reader (tokens holding newlines or commas are quoted).
  const auto csv = ps::plot::read_csv_table(ps::lens::lens_csv(t), "lens.csv");
  ASSERT_EQ(int64_t(csv.rows.size()), t.rows() * t.cols() * t.k);
  const auto& row = csv.rows[size_t((1 * t.cols() + 2) * t.k + 1)];  // layer 1, position 2, rank 1
  EXPECT_EQ(row[0], "1");
  EXPECT_EQ(row[1], "2");
  EXPECT_EQ(row[6], t.at(1, 2, 1).text);
  EXPECT_DOUBLE_EQ(std::stod(row[7]), t.at(1, 2, 1).prob);
}

// `probescope lens` writes the same predictions as the library call, and refuses bad usage with exit code 2.
TEST(LensCli, CsvMatchesTheLibraryAndBadUsageExits2) {
  const auto m = make(Tiny::LLaMA);
  const std::string dir = fx::temp_dir("lens-cli");
  ps::write_file_atomic(dir + "/snippet.py", kCode);
  const std::string exe = fx::probescope_path();
  const std::string cmd = exe + " lens --model " + m.dir + " --file " + dir + "/snippet.py --top 3 --threads 1 --dtype float32 --csv " +
                          dir + "/lens.csv > " + dir + "/out.txt 2> " + dir + "/err.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << fx::read_log(dir + "/err.txt");
  const auto opened = open(m.dir);
  const auto ids = opened.tokenizer->encode(kCode).ids;
  const auto t = ps::lens::logit_lens(*opened.engine, *opened.tokenizer, ids, 3, opened.engine->options());
  // The same table (a separate process may round the last float bit differently: compare numerically).
  const auto got = ps::plot::read_csv_file(dir + "/lens.csv");
  const auto want = ps::plot::read_csv_table(ps::lens::lens_csv(t), "library");
  ASSERT_EQ(got.header, want.header);
  ASSERT_EQ(got.rows.size(), want.rows.size());
  for (size_t i = 0; i < got.rows.size(); ++i) {
    for (int c : {0, 1, 2, 3, 4, 5, 6}) EXPECT_EQ(got.rows[i][size_t(c)], want.rows[i][size_t(c)]) << "row " << i;
    EXPECT_NEAR(std::stod(got.rows[i][7]), std::stod(want.rows[i][7]), 1e-5) << "row " << i;
  }
  EXPECT_NE(ps::read_file(dir + "/out.txt").find("layer"), std::string::npos);

  const auto code = [&](const std::string& args) {
    const int rc = std::system((exe + " lens " + args + " > /dev/null 2> " + dir + "/bad.txt").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  EXPECT_EQ(code("--model " + m.dir + " --text 'x = 1' --position 1"), 2);  // a decoder has no masked position
  EXPECT_EQ(code("--model " + dir + "/nowhere --text 'x = 1'"), 2);
  EXPECT_EQ(code("--model " + m.dir), 2);  // neither --text nor --file
  const std::string err = ps::read_file(dir + "/bad.txt");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

}  // namespace
