// libFuzzer target: the safetensors header parser on arbitrary bytes. The contract under test: any input
// either parses into tensors that lie inside the buffer with consistent sizes, or throws a one-line
// ps::InputError naming the source. Anything else (another exception, a sanitizer report) is a bug.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "models/safetensors/safetensors.h"
#include "models/util/error.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();  // libFuzzer records the input as a crash
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ps::st;
  try {
    const File f = File::parse(data, size, "fuzz");
    uint64_t covered = 0;
    for (const auto& name : f.names()) {
      const TensorInfo& t = f.at(name);
      check(t.data >= data && t.nbytes <= size && t.data + t.nbytes <= data + size);
      check(static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype) == t.nbytes);
      covered += t.nbytes;
      // Touch every byte (ASan checks the bounds); float tensors also go through to_float.
      uint8_t acc = 0;
      for (size_t i = 0; i < t.nbytes; ++i) acc ^= t.data[i];
      (void)acc;
      if (t.dtype == DType::F32 || t.dtype == DType::F16 || t.dtype == DType::BF16 || t.dtype == DType::F64)
        check(to_float(t).size() == static_cast<size_t>(t.numel()));
    }
    check(covered <= size);  // tiling: the tensors never claim more bytes than exist
  } catch (const ps::InputError& e) {
    const std::string msg = e.what();
    check(msg.rfind("fuzz: ", 0) == 0 && msg.find('\n') == std::string::npos && msg.size() < 1000);
  }
  return 0;
}
