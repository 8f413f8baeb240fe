#pragma once
// Checkpoint tensors (raw safetensors bytes) to and from ATen, for the interventions that rewrite weights.
#include <ATen/core/Tensor.h>

#include <string>

#include "models/safetensors/safetensors.h"

namespace ps::models {

// A CPU tensor of the stored floating dtype (F32, F16, BF16, F64); InputError naming the tensor otherwise.
at::Tensor tensor_of(const st::TensorData& d);
// t converted to d's dtype and shape-checked, replacing d's bytes.
void store_into(st::TensorData& d, const at::Tensor& t);
// A new TensorData like `like` (name, dtype, shape) holding t.
st::TensorData data_like(const st::TensorData& like, const at::Tensor& t);

}  // namespace ps::models
