#include "models/transformer/detail/rope_kernel.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>

#include "models/transformer/detail/avx2_math.h"
#include "models/transformer/detail/dtype_dispatch.h"

namespace ps::models {

namespace {

using namespace avx2;

// One token's heads: forward  o1 = a1·c1 − a2·s1, o2 = a2·c2 + a1·s2 (x·cos + rotate_half(x)·sin);
// transpose o1 = a1·c1 + a2·s2, o2 = a2·c2 − a1·s1 (the backward: the rotation's transpose applied to dy).
template <typename A, typename C, typename O>
__attribute__((target("avx2,fma"))) void rotate_token(const A* a, const C* c, const C* s, O* o, int64_t H, int64_t hd,
                                                      bool transpose) {
  const int64_t half = hd / 2;
  const C *c1 = c, *c2 = c + half, *s1 = s, *s2 = s + half;
  for (int64_t h = 0; h < H; ++h, a += hd, o += hd) {
    const A *a1 = a, *a2 = a + half;
    int64_t i = 0;
    for (; i + 8 <= half; i += 8) {
      const __m256 x1 = load8(a1 + i), x2 = load8(a2 + i);
      const __m256 cc1 = load8(c1 + i), cc2 = load8(c2 + i), ss1 = load8(s1 + i), ss2 = load8(s2 + i);
      if (!transpose) {
        store8(o + i, _mm256_fnmadd_ps(x2, ss1, _mm256_mul_ps(x1, cc1)));
        store8(o + half + i, _mm256_fmadd_ps(x1, ss2, _mm256_mul_ps(x2, cc2)));
      } else {
        store8(o + i, _mm256_fmadd_ps(x2, ss2, _mm256_mul_ps(x1, cc1)));
        store8(o + half + i, _mm256_fnmadd_ps(x1, ss1, _mm256_mul_ps(x2, cc2)));
      }
    }
    for (; i < half; ++i) {
      const float x1 = load1(a1 + i), x2 = load1(a2 + i);
      if (!transpose) {
        store1(o + i, x1 * load1(c1 + i) - x2 * load1(s1 + i));
        store1(o + half + i, x2 * load1(c2 + i) + x1 * load1(s2 + i));
      } else {
        store1(o + i, x1 * load1(c1 + i) + x2 * load1(s2 + i));
        store1(o + half + i, x2 * load1(c2 + i) - x1 * load1(s1 + i));
      }
    }
  }
}

// a, o: [N, H, hd] contiguous; cos, sin: [N, hd] contiguous, one dtype.
void rotate(const at::Tensor& a, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& o, bool transpose) {
  const int64_t hd = a.size(-1), H = a.size(-2), N = a.numel() / (H * hd);
  with_ptr(a, [&](auto* ap) {
    with_ptr(cos, [&](auto* cp) {
      auto* sp = static_cast<decltype(cp)>(sin.data_ptr());
      with_ptr(o, [&](auto* op) {
        at::parallel_for(0, N, 64, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t)
            rotate_token(ap + t * H * hd, cp + t * hd, sp + t * hd, op + t * H * hd, H, hd, transpose);
        });
      });
    });
  });
}

at::ScalarType out_dtype(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (x.scalar_type() == at::kBFloat16 && at::autocast::is_cpu_enabled() &&
      at::autocast::get_autocast_cpu_dtype() == at::kBFloat16)
    return at::kBFloat16;
  return at::promote_types(x.scalar_type(), at::promote_types(cos.scalar_type(), sin.scalar_type()));
}

// cos/sin as [..., hd] with x's leading shape, contiguous, in one dtype (copies only when broadcast or mixed).
std::pair<at::Tensor, at::Tensor> tables_for(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  auto shape = x.sizes().vec();
  shape.erase(shape.end() - 2);
  const auto dt = at::promote_types(cos.scalar_type(), sin.scalar_type());
  return {cos.to(dt).expand(shape).contiguous(), sin.to(dt).expand(shape).contiguous()};
}

// The forward rotation into a new tensor of out_dtype; c, s already from tables_for.
at::Tensor rotate_forward(const at::Tensor& x, const at::Tensor& c, const at::Tensor& s) {
  const auto xc = x.contiguous();
  auto y = at::empty(xc.sizes(), xc.options().dtype(out_dtype(x, c, s)));
  rotate(xc, c, s, y, false);
  return y;
}

struct RopeFunction : torch::autograd::Function<RopeFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos,
                            const at::Tensor& sin) {
    auto y = rotate_forward(x, cos, sin);
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["x_dtype"] = int64_t(x.scalar_type());
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto dtype = at::ScalarType(ctx->saved_data["x_dtype"].toInt());
    auto dy = grads[0].contiguous();
    if (dy.scalar_type() != at::kFloat && dy.scalar_type() != at::kBFloat16) dy = dy.to(at::kFloat);
    auto dx = at::empty(dy.sizes(), dy.options().dtype(dtype));
    rotate(dy, saved[0], saved[1], dx, true);
    return {dx, at::Tensor(), at::Tensor()};
  }
};

bool float_or_bf16(const at::Tensor& t) { return t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16; }

}  // namespace

bool rope_fused_applies(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!x.defined() || !cos.defined() || !sin.defined() || x.dim() < 2 || cos.dim() < 1) return false;
  if (!x.device().is_cpu() || !cos.device().is_cpu() || !sin.device().is_cpu()) return false;
  if (!float_or_bf16(x) || !float_or_bf16(cos) || !float_or_bf16(sin) || cos.requires_grad() || sin.requires_grad())
    return false;
  const int64_t hd = x.size(-1);
  if (hd % 2 || cos.size(-1) != hd || sin.sizes() != cos.sizes() || !avx2::cpu_has_avx2_fma()) return false;
  auto lead = x.sizes().vec();
  lead.erase(lead.end() - 2);
  // cos must broadcast to x's leading shape (not the other way round: x's shape is the output's).
  if (cos.dim() > int64_t(lead.size())) return false;
  for (int64_t i = 1; i <= cos.dim(); ++i) {
    const int64_t c = cos.size(-i), want = lead[lead.size() - size_t(i)];
    if (c != want && c != 1) return false;
  }
  return true;
}

at::Tensor rope_fused(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  auto [c, s] = tables_for(x, cos, sin);
  if (x.requires_grad() && at::GradMode::is_enabled()) return RopeFunction::apply(x, c, s);
  return rotate_forward(x, c, s);
}

}  // namespace ps::models
