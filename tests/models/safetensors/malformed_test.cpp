// Every class of malformed safetensors file gives a one-line InputError that names the file, the tensor
// (or "header") and the problem — never a crash or a silently wrong tensor.
#include <gtest/gtest.h>

#include "models/safetensors/safetensors.h"
#include "models/util/error.h"
#include "models/util/files.h"
#include "tests/models/safetensors/st_test_util.h"

using namespace ps::st;
using ps::st::testing::raw_file;

namespace {

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

// A header {"t": entry} with an 8-byte buffer.
std::string one(const std::string& entry, const std::string& buf = std::string(8, '\0')) {
  return raw_file(R"({"t":)" + entry + "}", buf);
}

#define EXPECT_ERROR(bytes, text) EXPECT_NE(error_of(bytes).find(text), std::string::npos) << error_of(bytes)

}  // namespace

TEST(SafetensorsMalformed, LengthPrefix) {
  EXPECT_ERROR("", "header: file is 0 bytes, too short");
  EXPECT_ERROR("abc", "header: file is 3 bytes, too short");
  const std::string ok = one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})");
  EXPECT_ERROR(ok.substr(0, 20), "header: length 54 runs past the end of the file (20 bytes");  // header cut
  std::string huge = ok;
  huge[7] = '\x7f';
  EXPECT_ERROR(huge, "exceeds the 100 MB limit");
  std::string just_over = ok;  // 100 MB + 1: over the limit even though it is "only" 100 MB
  const uint64_t n = (100ull << 20) + 1;
  for (int i = 0; i < 8; ++i) just_over[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  EXPECT_ERROR(just_over, "limit");
}

TEST(SafetensorsMalformed, HeaderJson) {
  EXPECT_ERROR(raw_file("{not json", ""), "header: invalid JSON");
  EXPECT_ERROR(raw_file("", ""), "header: invalid JSON");
  EXPECT_ERROR(raw_file("[1,2]", ""), "header: not a JSON object");
  EXPECT_ERROR(raw_file("\"str\"", ""), "header: not a JSON object");
  EXPECT_ERROR(raw_file("{\"a\":\"\xff\"}", ""), "header: invalid JSON");  // not UTF-8
  EXPECT_ERROR(raw_file(R"({"__metadata__":{"a":1}})", ""), "header: __metadata__ value 'a' is not a string");
  EXPECT_ERROR(raw_file(R"({"__metadata__":[]})", ""), "header: __metadata__ is not an object");
  EXPECT_ERROR(raw_file(R"({"t":[1]})", ""), "tensor 't': entry is not an object");
}

TEST(SafetensorsMalformed, DuplicateKeys) {
  const std::string t = R"("t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]})";
  EXPECT_ERROR(raw_file("{" + t + "," + t + "}", std::string(4, '\0')), "header: duplicate key 't'");
  EXPECT_ERROR(raw_file(R"({"__metadata__":{"a":"1","a":"2"}})", ""), "duplicate key 'a'");
  // The same key in two different objects is fine.
  const std::string ok = raw_file(R"({"__metadata__":{"dtype":"x"},"u":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})", "");
  EXPECT_NO_THROW(File::parse(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "ok"));
}

TEST(SafetensorsMalformed, TensorFields) {
  EXPECT_ERROR(one(R"({"shape":[2],"data_offsets":[0,8]})"), "tensor 't': missing string field 'dtype'");
  EXPECT_ERROR(one(R"({"dtype":"F32","data_offsets":[0,8]})"), "tensor 't': missing array field 'shape'");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2]})"), "tensor 't': field 'data_offsets' must be [begin, end]");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"), "must be [begin, end]");
  EXPECT_ERROR(one(R"({"dtype":"Q4","shape":[2],"data_offsets":[0,8]})"), "tensor 't': unsupported dtype 'Q4'");
  EXPECT_ERROR(one(R"({"dtype":"f32","shape":[2],"data_offsets":[0,8]})"), "unsupported dtype 'f32'");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), "tensor 't': shape entries must be non-negative");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"), "non-negative integers");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"), "non-negative integers");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"), "tensor 't': shape overflows");
  EXPECT_ERROR(one(R"({"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,8]})"), "shape overflows");
  // A zero dimension makes the element count 0, but the other dimensions still become int64 shapes and
  // strides downstream: their product must not overflow either.
  EXPECT_ERROR(one(R"({"dtype":"U8","shape":[0,18446744073709551615],"data_offsets":[0,0]})"), "shape overflows");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]})"), "shape overflows");
  EXPECT_ERROR(one(R"({"dtype":"U8","shape":[0,2],"data_offsets":[0,8]})"), "holds 8 bytes but dtype x shape needs 0");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2],"data_offsets":[-1,8]})"), "data_offsets must be non-negative");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), "tensor 't': data_offsets begin 8 > end 0");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), "tensor 't': holds 8 bytes but dtype x shape needs 12");
  EXPECT_ERROR(one(R"({"dtype":"F64","shape":[2],"data_offsets":[0,8]})"), "needs 16");
}

TEST(SafetensorsMalformed, BufferTiling) {
  const std::string t = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", std::string(4, '\0')),
               "tensor 't': data_offsets end 8 is past the data buffer (4 bytes");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})"), "past the data buffer");
  EXPECT_ERROR(raw_file("{" + t + R"(,"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, '\0')),
               "tensor 'u': overlaps tensor 't'");
  EXPECT_ERROR(raw_file("{" + t + R"(,"u":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
               "overlaps");  // identical ranges
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), "tensor 't': leaves a gap of 4 bytes");
  EXPECT_ERROR(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})"), "header: data buffer has 4 trailing bytes");
  EXPECT_ERROR(raw_file("{}", "x"), "1 trailing bytes");
  // Zero-size tensors may sit on any boundary, but not inside another tensor.
  const std::string z = raw_file("{" + t + R"(,"z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"y":{"dtype":"I8","shape":[0],"data_offsets":[0,0]}})", std::string(8, '\0'));
  EXPECT_EQ(File::parse(reinterpret_cast<const uint8_t*>(z.data()), z.size(), "z").names().size(), 3u);
  EXPECT_ERROR(raw_file("{" + t + R"(,"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", std::string(8, '\0')),
               "tensor 'z': overlaps tensor 't'");
}

TEST(SafetensorsMalformed, NamesInMessagesStayOnOneLine) {
  // A tensor name with a newline and a 1000-byte name: escaped and shortened in the message.
  const std::string m = error_of(raw_file(R"({"a\nb":{"dtype":"Q","shape":[],"data_offsets":[0,0]}})", ""));
  EXPECT_NE(m.find("tensor 'a\\x0ab'"), std::string::npos) << m;
  const std::string longname(1000, 'n');
  const std::string m2 = error_of(raw_file("{\"" + longname + R"(":{"dtype":"Q","shape":[],"data_offsets":[0,0]}})", ""));
  EXPECT_LT(m2.size(), 300u);
  EXPECT_NE(m2.find("nnn...'"), std::string::npos) << m2;
}

TEST(SafetensorsMalformed, TruncatedAndMissingFilesOnDisk) {
  const std::string dir = ps::st::testing::scratch("cut");
  const std::string full = dir + "/model.safetensors";
  write(full, {{"w", DType::F32, {4}, std::string(16, '\1')}});
  const std::string bytes = ps::read_file(full);
  ps::write_file_atomic(dir + "/cut.safetensors", bytes.substr(0, bytes.size() - 3));
  try {
    File::open(dir + "/cut.safetensors");
    FAIL();
  } catch (const ps::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors: tensor 'w': data_offsets end 16 is past the data buffer"),
              std::string::npos) << e.what();
  }
  ps::write_file_atomic(dir + "/empty.safetensors", "");
  EXPECT_THROW(File::open(dir + "/empty.safetensors"), ps::InputError);
  EXPECT_THROW(File::open(dir + "/absent.safetensors"), ps::InputError);
  EXPECT_THROW(File::open(dir), ps::InputError);  // a directory
  std::filesystem::remove_all(dir);
}
