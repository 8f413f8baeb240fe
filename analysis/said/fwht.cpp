// Blocked in-place FWHT: the stages with span < kBlock run block by block while the block sits in L1/L2,
// the remaining (wide) stages are fused two at a time (radix 4) so each costs half a pass over memory.
#include "analysis/said/fwht.h"

#include <ATen/Parallel.h>

#include <string>

#include "models/util/error.h"

namespace ps::said {

namespace {

constexpr int64_t kBlock = 1 << 12;        // 16 KiB of floats: stays in L1/L2 for the narrow stages
// Smaller transforms run on the calling thread: each parallel region costs a wake-up and a barrier, which on
// a busy machine (or with many mid-sized tensors) costs more than the 1–2 ms of butterflies it would split.
constexpr int64_t kParallelMin = 1 << 20;

// Radix-2 butterflies of span h over [lo, hi) (lo, hi multiples of 2h).
template <typename T>
void stage2(T* x, int64_t h, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; i += 2 * h) {
    T* a = x + i;
    T* b = a + h;
    for (int64_t j = 0; j < h; ++j) {
      const T u = a[j], v = b[j];
      a[j] = u + v;
      b[j] = u - v;
    }
  }
}

// Stages h and 2h fused over [lo, hi) (multiples of 4h): one read and one write per element.
template <typename T>
void stage4(T* x, int64_t h, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; i += 4 * h) {
    T *p0 = x + i, *p1 = p0 + h, *p2 = p1 + h, *p3 = p2 + h;
    for (int64_t j = 0; j < h; ++j) {
      const T a = p0[j], b = p1[j], c = p2[j], d = p3[j];
      const T s = a + b, t = a - b, u = c + d, v = c - d;
      p0[j] = s + u;
      p1[j] = t + v;
      p2[j] = s - u;
      p3[j] = t - v;
    }
  }
}

// All stages with span < limit inside [lo, hi), block-local.
template <typename T>
void narrow_stages(T* x, int64_t limit, int64_t lo, int64_t hi) {
  int64_t h = 1;
  for (; 4 * h <= limit; h *= 4) stage4(x, h, lo, hi);
  for (; h < limit; h *= 2) stage2(x, h, lo, hi);
}

template <typename T>
void fwht_impl(T* x, int64_t n) {
  if (!is_pow2(n)) throw InputError("fwht: length " + std::to_string(n) + " is not a power of two");
  const int64_t block = std::min(n, kBlock);
  const int64_t grain = n >= kParallelMin ? block : n;  // one task for small transforms
  at::parallel_for(0, n / block, std::max<int64_t>(1, grain / block), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) narrow_stages(x, block, b * block, (b + 1) * block);
  });
  // Wide stages: every butterfly group of span h touches [i, i + 2h) or [i, i + 4h); groups are independent,
  // and inside a group the j range is split, so threads always have work even when there is one group.
  for (int64_t h = block; h < n;) {
    const bool fuse = 4 * h <= n;
    const int64_t span = fuse ? 4 * h : 2 * h;
    // Work items: (group, j-chunk) with chunks of kBlock elements of each lane.
    const int64_t chunk = std::min(h, kBlock), per_group = h / chunk, items = (n / span) * per_group;
    at::parallel_for(0, items, n >= kParallelMin ? 1 : items, [&](int64_t i0, int64_t i1) {
      for (int64_t it = i0; it < i1; ++it) {
        const int64_t g = it / per_group, c = it % per_group;
        T* base = x + g * span + c * chunk;
        // A chunk of lanes is a butterfly set of width `chunk` and stride h: reuse the kernels by offsetting.
        if (fuse) {
          T *p0 = base, *p1 = p0 + h, *p2 = p1 + h, *p3 = p2 + h;
          for (int64_t j = 0; j < chunk; ++j) {
            const T a = p0[j], b = p1[j], cc = p2[j], d = p3[j];
            const T s = a + b, t = a - b, u = cc + d, v = cc - d;
            p0[j] = s + u;
            p1[j] = t + v;
            p2[j] = s - u;
            p3[j] = t - v;
          }
        } else {
          T *p0 = base, *p1 = p0 + h;
          for (int64_t j = 0; j < chunk; ++j) {
            const T a = p0[j], b = p1[j];
            p0[j] = a + b;
            p1[j] = a - b;
          }
        }
      }
    });
    h = fuse ? 4 * h : 2 * h;
  }
}

}  // namespace

bool is_pow2(int64_t n) { return n >= 1 && (n & (n - 1)) == 0; }

int64_t next_pow2(int64_t n) {
  if (n < 1) throw InputError("next_pow2: length " + std::to_string(n) + " must be positive");
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

void fwht_inplace(float* x, int64_t n) { fwht_impl(x, n); }
void fwht_inplace(double* x, int64_t n) { fwht_impl(x, n); }

}  // namespace ps::said
