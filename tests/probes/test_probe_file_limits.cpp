// Probe files are untrusted input too: tensor shapes that disagree with the metadata (rank, label and
// vocabulary sizes), or header shapes the file cannot back, are one-line InputErrors naming the file —
// also under a hard address-space limit, so a loader that trusts a claimed shape fails the test.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "models/util/error.h"
#include "models/util/files.h"
#include "probes/ast_probe.h"
#include "probes/linear.h"
#include "probes/probe_file.h"
#include "probes/structural.h"
#include "tests/common/memory_limit.h"
#include "tests/common/scratch.h"

using namespace ps::probes;

namespace {

F32Tensor zeros(std::vector<int64_t> shape) {
  F32Tensor t;
  t.shape = std::move(shape);
  t.data.assign(static_cast<size_t>(t.numel()), 0.0f);
  return t;
}

// A consistent AST-Probe file: dim 16, rank 4, 3 constituent and 2 unary labels.
ProbeFile ast_file() {
  ProbeFile f;
  f.meta = {{"ps.format", "ast-probe/1"}, {"ps.layer", "2"},           {"ps.rank", "4"},
            {"ps.c_vocab", R"(["a","b","c"])"}, {"ps.u_vocab", R"(["x","y"])"}, {"ps.c_empty", "-1"},
            {"ps.u_empty", "-1"},         {"ps.sep", "|"}};
  f.tensors = {{"P", zeros({16, 4})}, {"V_c", zeros({4, 3})}, {"V_u", zeros({4, 2})}};
  return f;
}

ProbeFile structural_file() {
  ProbeFile f;
  f.meta = {{"ps.format", "structural-probe/1"}, {"ps.layer", "1"}, {"ps.kind", "distance"}, {"ps.rank", "2"}};
  f.tensors = {{"B", zeros({2, 8})}};
  return f;
}

ProbeFile linear_file() {
  ProbeFile f;
  f.meta = {{"ps.format", "linear-probe/1"}, {"ps.layer", "1"}, {"ps.labels", R"(["p","q","r"])"}};
  f.tensors = {{"W", zeros({8, 3})}, {"b", zeros({3})}};
  return f;
}

// A raw file whose header claims `shape` for tensor P over a 16-byte buffer.
std::string claimed_shape_file(const std::string& shape) {
  const std::string header = R"({"__metadata__":{"ps.format":"ast-probe/1"},"P":{"dtype":"F32","shape":)" + shape +
                             R"(,"data_offsets":[0,16]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((header.size() >> (8 * i)) & 0xff);
  return bytes + header + std::string(16, '\0');
}

struct BadProbe {
  std::string name;
  std::function<void(const std::string&)> write;  // writes the file at the given path
  std::function<void(const std::string&)> load;
  std::string expected;
};

std::vector<BadProbe> bad_probes() {
  const auto ast = [](const std::string& p) { load_ast_probe(p); };
  const auto structural = [](const std::string& p) { load_structural_probe(p); };
  const auto linear = [](const std::string& p) { load_linear_probe(p); };
  auto mutated = [](ProbeFile (*base)(), std::function<void(ProbeFile&)> change) {
    return [base, change](const std::string& p) {
      ProbeFile f = base();
      change(f);
      write_probe_file(p, f);
    };
  };
  auto raw = [](const std::string& shape) {
    return [shape](const std::string& p) { ps::write_file_atomic(p, claimed_shape_file(shape)); };
  };
  return {
      {"ast_rank_vs_P", mutated(ast_file, [](ProbeFile& f) { f.meta["ps.rank"] = "8"; }), ast,
       "ps.rank disagrees with P's shape"},
      {"ast_vocab_vs_Vc", mutated(ast_file, [](ProbeFile& f) { f.meta["ps.c_vocab"] = R"(["a"])"; }), ast,
       "vocabulary sizes do not match V_c/V_u"},
      {"ast_Vc_rows_vs_rank", mutated(ast_file, [](ProbeFile& f) { f.tensors["V_c"] = zeros({5, 3}); }), ast,
       "V_c/V_u rows do not equal P's columns (rank)"},
      {"ast_empty_id", mutated(ast_file, [](ProbeFile& f) { f.meta["ps.c_empty"] = "3"; }), ast,
       "<empty> label id out of range"},
      {"structural_rank_vs_B", mutated(structural_file, [](ProbeFile& f) { f.meta["ps.rank"] = "3"; }), structural,
       "ps.rank disagrees with B's shape"},
      {"linear_labels_vs_W", mutated(linear_file, [](ProbeFile& f) { f.meta["ps.labels"] = R"(["p"])"; }), linear,
       "ps.labels does not match W's columns"},
      {"linear_b_vs_W", mutated(linear_file, [](ProbeFile& f) { f.tensors["b"] = zeros({5}); }), linear,
       "b's length differs from W's columns"},
      {"ast_normalize_mode", mutated(ast_file, [](ProbeFile& f) { f.meta["ps.normalize"] = "unit"; }), ast,
       "ps.normalize is 'unit'"},
      {"ast_scale_missing", mutated(ast_file, [](ProbeFile& f) { f.meta["ps.normalize"] = "scale"; }), ast,
       "tensor 'norm_scale' missing"},
      {"structural_standardize_width", mutated(structural_file, [](ProbeFile& f) {
         f.meta["ps.normalize"] = "standardize";
         f.tensors["norm_scale"] = zeros({8});
         f.tensors["norm_shift"] = zeros({7});
       }), structural, "norm_scale/norm_shift sizes do not fit"},
      {"shape_beyond_file", raw("[2147483647,2147483647]"), ast,
       "tensor 'P': shape [2147483647, 2147483647] needs more bytes than the file has"},
      {"shape_product_overflow", raw("[2147483647,2147483647,2147483647,2147483647]"), ast,
       "needs more bytes than the file has"},
      {"shape_beyond_int", raw("[4294967296]"), ast, "tensor 'P': bad shape [4294967296]"},
  };
}

std::string error_of(const BadProbe& b, const std::string& path) {
  try {
    b.load(path);
  } catch (const ps::InputError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ProbeFileLimits, ShapesThatDisagreeWithMetadataAreRejected) {
  const auto dir = ps::test::scratch_dir("probes");
  for (const auto& b : bad_probes()) {
    const std::string path = (dir / (b.name + ".safetensors")).string();
    b.write(path);
    const std::string err = error_of(b, path);
    EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << b.name << ": " << err;
    EXPECT_NE(err.find(b.expected), std::string::npos) << b.name << ": " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << b.name << ": " << err;
  }
  // The unmutated files load: the cases above fail for their one change.
  const std::string ok = (dir / "ok.safetensors").string();
  write_probe_file(ok, ast_file());
  EXPECT_EQ(load_ast_probe(ok).model.rank, 4);
  write_probe_file(ok, structural_file());
  EXPECT_EQ(load_structural_probe(ok).probe.dim, 8);
  write_probe_file(ok, linear_file());
  EXPECT_EQ(load_linear_probe(ok).probe.n_labels, 3);
}

TEST(ProbeFileLimits, BadProbeFilesFailCleanlyUnderAMemoryLimit) {
  if (ps::test::kAddressSanitizer) GTEST_SKIP() << "RLIMIT_AS is meaningless under AddressSanitizer";
  const auto dir = ps::test::scratch_dir("probes_limited");
  for (const auto& b : bad_probes()) {
    const std::string path = (dir / (b.name + ".safetensors")).string();
    b.write(path);
    const auto r = ps::test::run_with_memory_limit(
        [&] { return ps::test::expect_error<ps::InputError>([&] { b.load(path); }, b.expected); });
    EXPECT_TRUE(r.ok()) << b.name << ": " << r.describe();
  }
}

}  // namespace
