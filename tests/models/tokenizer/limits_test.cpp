// Sizes an untrusted tokenizer.json claims (ids, merge counts, its own length) are checked before they
// cost memory; each bad file gives one line naming the file and the field — also under a hard
// address-space limit, so a regression fails instead of swapping.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"
#include "tests/models/tokenizer/tokenizer_test_util.h"
#include "tests/common/memory_limit.h"
#include "tests/common/scratch.h"

namespace {

using ps::tok::Tokenizer;

std::string bpe(const std::string& vocab, const std::string& merges, const std::string& extra = "") {
  return R"({"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,
    "decoder":null,)" + extra + R"("model":{"type":"BPE","vocab":)" + vocab + R"(,"merges":)" + merges + "}}";
}

using ps::tok::testing::error_of;

struct BadTokenizer {
  std::string name, json, expected;
};

std::vector<BadTokenizer> bad_tokenizers() {
  std::string repeated = "[";
  for (int i = 0; i < 1000; ++i) repeated += std::string(i ? "," : "") + "\"a b\"";
  repeated += "]";
  return {
      // One id of 2^31 - 1 would size the dense id -> token table at 64 GB.
      {"absurd_vocab_id", bpe(R"({"a":0,"b":2147483647})", "[]"),
       "tok.json: model.vocab.b: id 2147483647 is far beyond the vocabulary's 2 entries (ids must stay below 1028)"},
      {"absurd_merge_count", bpe(R"({"a":0,"b":1,"ab":2})", repeated),
       "tok.json: model.merges: 1000 merges, more than the 1 distinct pairs model.vocab's tokens can be split into"},
      {"absurd_pad_id", bpe(R"({"a":0})", "[]", R"("padding":{"pad_id":99999999999},)"),
       "tok.json: padding.pad_id: out of range: 99999999999"},
      {"absurd_template_id",
       bpe(R"({"a":0})", "[]",
           R"("post_processor":{"type":"BertProcessing","sep":["a",4294967296],"cls":["a",0]},)"),
       "tok.json: post_processor.sep: expected [token, id] with an id below 2^31"},
      {"truncated", bpe(R"({"a":0})", "[]").substr(0, 90), "tok.json: invalid JSON"},
  };
}

TEST(TokenizerLimits, ClaimedSizesAreRejectedWithOneLine) {
  for (const auto& b : bad_tokenizers()) {
    const std::string err = error_of(b.json);
    EXPECT_EQ(err.rfind(b.expected, 0), 0u) << b.name << ": " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << b.name << ": " << err;
  }
}

TEST(TokenizerLimits, SmallGapsInIdsAreFine) {
  EXPECT_EQ(Tokenizer::from_json(bpe(R"({"a":0,"b":5})", "[]"), "t").vocab_size(), 2);
  EXPECT_EQ(Tokenizer::from_json(bpe(R"({"a":0,"b":1,"ab":2})", R"(["a b"])"), "t").model_type(), "BPE");
}

TEST(TokenizerLimits, ControlBytesInKeysStayOnOneLine) {
  const std::string err = error_of(bpe(R"({"a\nb":-1})", "[]"));
  EXPECT_EQ(err, "tok.json: model.vocab.a\\x0ab: expected a non-negative integer id");
}

TEST(TokenizerLimits, TruncatedAndOversizedFiles) {
  const auto dir = ps::test::scratch_dir("tokenizer");
  const std::string truncated = (dir / "truncated.json").string();
  std::ofstream(truncated) << bpe(R"({"a":0})", "[]").substr(0, 90);
  EXPECT_THROW(Tokenizer::from_file(truncated), ps::InputError);
  // A sparse file: its size is what is checked, before a byte is read.
  const std::string huge = (dir / "huge.json").string();
  std::ofstream(huge) << "{";
  std::filesystem::resize_file(huge, (uintmax_t(256) << 20) + 1);
  try {
    Tokenizer::from_file(huge);
    FAIL() << "no error";
  } catch (const ps::InputError& e) {
    EXPECT_EQ(std::string(e.what()), huge + ": 268435457 bytes, more than the 256 MiB a tokenizer.json may have");
  }
}

TEST(TokenizerLimits, BadTokenizersFailCleanlyUnderAMemoryLimit) {
  if (ps::test::kAddressSanitizer) GTEST_SKIP() << "RLIMIT_AS is meaningless under AddressSanitizer";
  const auto good = ps::test::run_with_memory_limit(
      [] { return Tokenizer::from_json(bpe(R"({"a":0,"b":1,"ab":2})", R"(["a b"])"), "t").vocab_size() == 3 ? 0 : 1; });
  ASSERT_TRUE(good.ok()) << "good tokenizer: " << good.describe();
  for (const auto& b : bad_tokenizers()) {
    const auto r = ps::test::run_with_memory_limit([&] {
      return ps::test::expect_error<ps::InputError>([&] { Tokenizer::from_json(b.json, "tok.json"); }, b.expected);
    });
    EXPECT_TRUE(r.ok()) << b.name << ": " << r.describe();
  }
}

}  // namespace
