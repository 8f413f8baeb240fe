// safetensors: round trips, a byte-exact file built by hand (independent of our writer), and every class
// of malformed file giving a one-line InputError that names the file and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"

using namespace ps::st;

namespace {

std::string tmpdir() {
  auto d = std::filesystem::temp_directory_path() / ("ps_st_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d.string();
}

// A file assembled by hand: 8-byte LE length, JSON header, buffer.
std::string raw_file(const std::string& header, const std::string& buffer) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + buffer;
}

std::string error_of(const std::string& bytes) {
  try {
    File::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.safetensors");
  } catch (const ps::InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("bad.safetensors: ", 0), 0u) << msg;
    return msg;
  }
  ADD_FAILURE() << "no error";
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripEveryDtypeAndShape) {
  const std::string path = tmpdir() + "/rt.safetensors";
  std::vector<TensorData> ts;
  int k = 0;
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL}) {
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{}, {0}, {3}, {2, 3, 1}}) {
      int64_t n = 1;
      for (auto s : shape) n *= s;
      std::string bytes(n * dtype_size(d), '\0');
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + k);
      ts.push_back({std::string(dtype_name(d)) + "_" + std::to_string(k++), d, shape, bytes});
    }
  }
  write(path, ts, {{"format", "pt"}});
  File f = File::open(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.names().size(), ts.size());
  for (const auto& t : ts) {
    const auto& info = f.at(t.name);
    EXPECT_EQ(info.dtype, t.dtype);
    EXPECT_EQ(info.shape, t.shape);
    ASSERT_EQ(info.nbytes, t.bytes.size());
    EXPECT_EQ(std::memcmp(info.data, t.bytes.data(), t.bytes.size()), 0) << t.name;
  }
  EXPECT_EQ(f.find("absent"), nullptr);
  EXPECT_THROW(f.at("absent"), ps::InputError);
}

TEST(Safetensors, ReadsAHandBuiltFile) {
  // Two F32 tensors in reverse name order of their offsets, as other writers may lay them out.
  float a[2] = {1.5f, -2.0f}, b[3] = {0.25f, 8.0f, 3.0f};
  std::string buf(reinterpret_cast<char*>(b), 12);
  buf += std::string(reinterpret_cast<char*>(a), 8);
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},"b":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]}})";
  const std::string bytes = raw_file(header, buf);
  File f = File::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "hand");
  float got[2];
  std::memcpy(got, f.at("a").data, 8);
  EXPECT_EQ(got[0], 1.5f);
  EXPECT_EQ(got[1], -2.0f);
  EXPECT_EQ(f.at("b").shape, (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, MalformedFilesGiveOneLineErrors) {
  const std::string ok_buf(8, '\0');
  auto hdr = [](const std::string& body) { return "{" + body + "}"; };
  const std::string t = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  EXPECT_NE(error_of("abc").find("too short"), std::string::npos);
  {  // header cut short: declared length beyond the file
    std::string f = raw_file(hdr(t), ok_buf);
    EXPECT_NE(error_of(f.substr(0, 20)).find("past the end"), std::string::npos);
  }
  {
    std::string f = raw_file(hdr(t), ok_buf);
    f[7] = '\x7f';  // absurd length
    EXPECT_NE(error_of(f).find("limit"), std::string::npos);
  }
  EXPECT_NE(error_of(raw_file("{not json", "")).find("invalid JSON"), std::string::npos);
  EXPECT_NE(error_of(raw_file("[1,2]", "")).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(t), std::string(4, '\0'))).find("past the data buffer"), std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), ok_buf))
                .find("dtype x shape"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]})"), ok_buf))
                .find("unsupported dtype 'Q4'"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), ok_buf))
                .find("non-negative"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"), ok_buf))
                .find("overflow"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[2]})"), ok_buf)).find("data_offsets"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(t + R"(,"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), ok_buf))
                .find("overlaps"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), ok_buf))
                .find("gap"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})"), ok_buf))
                .find("trailing bytes"),
            std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("__metadata__":{"a":1})"), "")).find("not a string"), std::string::npos);
  EXPECT_NE(error_of(raw_file(hdr(R"("t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), ok_buf))
                .find("begin > end"),
            std::string::npos);
}

TEST(Safetensors, TruncatedFileOnDiskAndShardedCheckpoint) {
  const std::string dir = tmpdir();
  const std::string full = dir + "/model.safetensors";
  write(full, {{"w", DType::F32, {4}, std::string(16, '\1')}});
  const std::string bytes = ps::read_file(full);
  ps::write_file_atomic(dir + "/cut.safetensors", bytes.substr(0, bytes.size() - 3));
  try {
    File::open(dir + "/cut.safetensors");
    FAIL();
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors: tensor 'w'"), std::string::npos) << e.what();
  }
  // Sharded: two files and an index.
  const std::string sdir = dir + "/sharded";
  std::filesystem::create_directories(sdir);
  write(sdir + "/model-00001-of-00002.safetensors", {{"a", DType::F32, {1}, std::string(4, '\0')}});
  write(sdir + "/model-00002-of-00002.safetensors", {{"b", DType::I32, {2}, std::string(8, '\0')}});
  ps::write_file_atomic(sdir + "/model.safetensors.index.json",
                        R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  Checkpoint ck(sdir);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ck.at("b").dtype, DType::I32);
  EXPECT_THROW(ck.at("c"), ps::InputError);
  EXPECT_THROW(Checkpoint(dir + "/nothing-here"), ps::InputError);
  ps::write_file_atomic(sdir + "/model.safetensors.index.json", R"({"weight_map":{"a":"../x"}})");
  EXPECT_THROW(Checkpoint{sdir}, ps::InputError);
  std::filesystem::remove_all(dir);
}
