#pragma once
// Fast Walsh–Hadamard transform, unnormalised: y = H_n x with H_1 = [1], H_{2m} = [[H_m, H_m], [H_m, -H_m]]
// (Sylvester order), so H_n H_n = n I. In place, O(n log n); n must be a power of two. Large arrays are
// split across ATen's intra-op threads. No LibTorch in this header.
#include <cstdint>

namespace ps::said {

bool is_pow2(int64_t n);
// Smallest power of two >= n (n >= 1); the length a vector is zero-padded to before transforming.
int64_t next_pow2(int64_t n);

// Throws InputError unless n is a power of two (n >= 1).
void fwht_inplace(float* x, int64_t n);
void fwht_inplace(double* x, int64_t n);

}  // namespace ps::said
