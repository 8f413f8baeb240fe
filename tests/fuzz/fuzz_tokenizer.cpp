// libFuzzer target: tokenizer.json loading on arbitrary bytes; a tokenizer that loads is also used to
// encode and decode a fixed text. Bad input must end in ps::Error, never a crash or another exception.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto tok = ps::tok::Tokenizer::from_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    const std::string text = "Hello, world! def f(x):\n    return x ** 2  # ünïcödé 日本語 \xf0\x9f\x98\x80";
    const auto enc = tok.encode(text);
    if (enc.ids.size() != enc.offsets.size() || enc.ids.size() != enc.tokens.size()) std::abort();
    for (const auto& [b, e] : enc.offsets)
      if (b < 0 || b > e || e > static_cast<int64_t>(text.size())) std::abort();
    (void)tok.decode(enc.ids);
  } catch (const ps::Error&) {
  }
  return 0;
}
