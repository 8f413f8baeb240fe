#pragma once
// Calls f with a float32 or bfloat16 tensor's storage as the element type the AVX2 kernels take (float* or
// uint16_t*), so one templated kernel serves both dtypes.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ps::models {

template <typename F>
void with_ptr(const at::Tensor& t, F&& f) {
  if (t.scalar_type() == at::kBFloat16)
    f(static_cast<uint16_t*>(t.data_ptr()));
  else
    f(t.data_ptr<float>());
}

}  // namespace ps::models
