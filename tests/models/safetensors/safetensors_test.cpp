// safetensors: round trips through our writer and reader, files built independently (by hand and by a
// python3-stdlib writer), our files read by an independent python3 reader, and float conversion.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/sha256.h"
#include "tests/models/safetensors/st_test_util.h"

using namespace ps::st;
using ps::st::testing::raw_file;
using ps::st::testing::scratch;

namespace {

const std::vector<DType> kAllDtypes = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                                       DType::I32, DType::I16, DType::I8,   DType::U8,  DType::BOOL};

std::vector<TensorData> every_dtype_and_shape() {
  std::vector<TensorData> ts;
  int k = 0;
  for (DType d : kAllDtypes) {
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{}, {0}, {3}, {2, 3, 1}, {4, 0, 2}}) {
      int64_t n = 1;
      for (auto s : shape) n *= s;
      std::string bytes(n * dtype_size(d), '\0');
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + k);
      ts.push_back({std::string(dtype_name(d)) + "." + std::to_string(k++), d, shape, bytes});
    }
  }
  return ts;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd << "\n" << out;
  return out;
}

const char* kPython = "/usr/bin/python3";
const std::string kPyTool = std::string(PS_SOURCE_DIR) + "/tests/models/safetensors/st_reference.py";

}  // namespace

TEST(Safetensors, RoundTripEveryDtypeAndShape) {
  const std::string path = scratch("rt") + "/rt.safetensors";
  const auto ts = every_dtype_and_shape();
  write(path, ts, {{"format", "pt"}, {"note", "ü\ttab"}});
  File f = File::open(path);
  EXPECT_EQ(f.source(), path);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "ü\ttab"}}));
  ASSERT_EQ(f.names().size(), ts.size());
  for (const auto& t : ts) {
    const auto& info = f.at(t.name);
    EXPECT_EQ(info.name, t.name);
    EXPECT_EQ(info.dtype, t.dtype);
    EXPECT_EQ(info.shape, t.shape);
    EXPECT_EQ(info.numel(), static_cast<int64_t>(t.bytes.size() / dtype_size(t.dtype)));
    ASSERT_EQ(info.nbytes, t.bytes.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(info.data), info.nbytes), t.bytes) << t.name;
  }
  EXPECT_EQ(f.at("F32.0").numel(), 1);  // scalar
  EXPECT_EQ(f.find("absent"), nullptr);
  EXPECT_THROW(f.at("absent"), ps::InputError);

  // Layout promised by the writer: header padded to 8 bytes, tensors in name order.
  const std::string bytes = ps::read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.find("__metadata__"), 8u + 2);
  // No metadata: no __metadata__ key at all, and an empty file set is valid.
  write(path, {});
  EXPECT_TRUE(File::open(path).names().empty());
  EXPECT_EQ(ps::read_file(path).find("__metadata__"), std::string::npos);
}

TEST(Safetensors, ReadsAHandBuiltUnalignedFile) {
  // Tensors stored in the opposite order to their names, and a header whose length is not a multiple of 8,
  // so the data pointers are misaligned: readers must copy, never cast.
  float a[2] = {1.5f, -2.0f};
  double b[3] = {0.25, 8.0, -3.0};
  std::string buf(reinterpret_cast<char*>(b), 24);
  buf += std::string(reinterpret_cast<char*>(a), 8);
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},"b":{"dtype":"F64","shape":[1,3],"data_offsets":[0,24]}, "__metadata__":null} )";
  ASSERT_NE(header.size() % 8, 0u);
  const std::string bytes = raw_file(header, buf);
  File f = File::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "hand");
  EXPECT_NE(reinterpret_cast<uintptr_t>(f.at("b").data) % 8, 0u);  // really misaligned
  EXPECT_EQ(to_float(f.at("a")), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(to_float(f.at("b")), (std::vector<float>{0.25f, 8.0f, -3.0f}));
  EXPECT_EQ(f.at("b").shape, (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, HalfAndBfloatToFloat) {
  // Bit patterns with known values: 1, -2, 65504 (max half), 2^-24 (smallest subnormal), 2^-14, inf.
  const uint16_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x0200};
  const uint16_t b[] = {0x3f80, 0xc000, 0x4049, 0x0000, 0x8000};  // 1, -2, 3.140625, 0, -0
  std::vector<TensorData> ts = {{"h", DType::F16, {7}, std::string(reinterpret_cast<const char*>(h), 14)},
                                {"b", DType::BF16, {5}, std::string(reinterpret_cast<const char*>(b), 10)},
                                {"i", DType::I32, {1}, std::string(4, '\0')}};
  const std::string path = scratch("half") + "/h.safetensors";
  write(path, ts);
  File f = File::open(path);
  const auto hf = to_float(f.at("h"));
  EXPECT_EQ(hf[0], 1.0f);
  EXPECT_EQ(hf[1], -2.0f);
  EXPECT_EQ(hf[2], 65504.0f);
  EXPECT_EQ(hf[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(hf[4], std::ldexp(1.0f, -14));
  EXPECT_TRUE(std::isinf(hf[5]));
  EXPECT_EQ(hf[6], std::ldexp(1.0f, -15));  // subnormal 0x200 = 2^9 * 2^-24
  EXPECT_EQ(to_float(f.at("b")), (std::vector<float>{1.0f, -2.0f, 3.140625f, 0.0f, -0.0f}));
  EXPECT_THROW(to_float(f.at("i")), ps::InputError);
}

TEST(Safetensors, WriterRejectsBadTensors) {
  const std::string path = scratch("wbad") + "/w.safetensors";
  auto msg = [&](const std::vector<TensorData>& ts) {
    try {
      write(path, ts);
    } catch (const ps::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg({{"x", DType::F32, {3}, std::string(8, '\0')}}).find("tensor 'x': 8 bytes given"), std::string::npos);
  EXPECT_NE(msg({{"x", DType::F32, {-1}, ""}}).find("negative dimension"), std::string::npos);
  EXPECT_NE(msg({{"x", DType::U8, {1}, "a"}, {"x", DType::U8, {1}, "b"}}).find("duplicate name"), std::string::npos);
  EXPECT_NE(msg({{"__metadata__", DType::U8, {1}, "a"}}).find("reserved"), std::string::npos);
  EXPECT_NE(msg({{"bad\xff", DType::U8, {1}, "a"}}).find("cannot encode"), std::string::npos);
  EXPECT_FALSE(ps::file_exists(path));
  EXPECT_FALSE(ps::file_exists(path + ".tmp"));
}

// Cross-check with an independent implementation: tests/models/safetensors/st_reference.py (python3
// stdlib only) writes a file with its own layout and reads ours, validating the format from scratch.
TEST(Safetensors, AgreesWithIndependentPythonImplementation) {
  if (!std::filesystem::exists(kPython)) GTEST_SKIP() << "no " << kPython;
  const std::string dir = scratch("py");
  // 1. Python writes; we read and compare against the values it reports.
  const std::string py_file = dir + "/py.safetensors";
  const std::string listing = run(std::string(kPython) + " " + kPyTool + " write " + py_file);
  File f = File::open(py_file);
  std::istringstream in(listing);
  std::string name, dtype, shape, sha;
  size_t count = 0;
  while (in >> name >> dtype >> shape >> sha) {
    const auto& t = f.at(name);
    EXPECT_EQ(dtype_name(t.dtype), dtype) << name;
    std::string ours = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) ours += (i ? "," : "") + std::to_string(t.shape[i]);
    EXPECT_EQ(ours + "]", shape) << name;
    EXPECT_EQ(ps::sha256_hex(std::string(reinterpret_cast<const char*>(t.data), t.nbytes)), sha) << name;
    ++count;
  }
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(count, f.names().size());
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(to_float(f.at("weight")), (std::vector<float>{1.0f, -0.5f, 3.0f, 1e-3f, 0.0f, 42.0f}));
  // 2. We write; Python validates the layout and reports each tensor, which must match what we wrote.
  const auto ts = every_dtype_and_shape();
  const std::string our_file = dir + "/ours.safetensors";
  write(our_file, ts, {{"k", "v"}});
  std::istringstream in2(run(std::string(kPython) + " " + kPyTool + " read " + our_file));
  std::map<std::string, std::string> got;
  std::string meta;
  ASSERT_TRUE(static_cast<bool>(in2 >> meta));
  EXPECT_EQ(meta, R"(metadata={"k":"v"})");
  while (in2 >> name >> dtype >> shape >> sha) got[name] = dtype + " " + shape + " " + sha;
  ASSERT_EQ(got.size(), ts.size());
  for (const auto& t : ts) {
    std::string s = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) s += (i ? "," : "") + std::to_string(t.shape[i]);
    EXPECT_EQ(got[t.name], std::string(dtype_name(t.dtype)) + " " + s + "] " + ps::sha256_hex(t.bytes));
  }
  std::filesystem::remove_all(dir);
}
