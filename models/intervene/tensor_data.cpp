#include "models/intervene/tensor_data.h"

#include <ATen/ATen.h>

#include <cstring>

#include "models/util/error.h"

namespace ps::models {

namespace {
at::ScalarType scalar_type(st::DType d, const std::string& name) {
  switch (d) {
    case st::DType::F32: return at::kFloat;
    case st::DType::F16: return at::kHalf;
    case st::DType::BF16: return at::kBFloat16;
    case st::DType::F64: return at::kDouble;
    default: throw InputError("tensor '" + name + "': " + st::dtype_name(d) + " is not a floating-point weight");
  }
}
}  // namespace

at::Tensor tensor_of(const st::TensorData& d) {
  auto out = at::empty(d.shape, at::TensorOptions().dtype(scalar_type(d.dtype, d.name)));
  if (size_t(out.nbytes()) != d.bytes.size()) throw InputError("tensor '" + d.name + "': size does not match its shape");
  if (!d.bytes.empty()) std::memcpy(out.data_ptr(), d.bytes.data(), d.bytes.size());
  return out;
}

void store_into(st::TensorData& d, const at::Tensor& t) {
  if (t.sizes().vec() != d.shape) throw RuntimeError("tensor '" + d.name + "': internal: shape changed");
  const auto c = t.to(scalar_type(d.dtype, d.name)).contiguous();
  d.bytes.assign(reinterpret_cast<const char*>(c.data_ptr()), size_t(c.nbytes()));
}

st::TensorData data_like(const st::TensorData& like, const at::Tensor& t) {
  st::TensorData d{like.name, like.dtype, like.shape, {}};
  store_into(d, t);
  return d;
}

}  // namespace ps::models
