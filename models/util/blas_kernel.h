#pragma once
// Debian 12's OpenBLAS 0.3.21 picks its kernel from the CPU model number and falls back to the SSE3
// "Prescott" kernel on CPUs newer than it knows (measured here, an Emerald Rapids Xeon, model 207: fp32
// matmul 15 GFLOP/s on one thread against 49-81 with an AVX-512 kernel). It reads
// OPENBLAS_CORETYPE only while the library loads, before main, so the faces re-exec themselves once with
// the kernel this CPU's features support. Only a Prescott fallback is overridden: a kernel OpenBLAS chose
// from a model it knows, or an OPENBLAS_CORETYPE the user set (even empty), is left alone.
#include <string>

namespace ps {

// The kernel OpenBLAS runs ("" if the BLAS in use is not OpenBLAS).
std::string blas_kernel();
// The OPENBLAS_CORETYPE this CPU supports by its features (SkylakeX with AVX-512, Haswell with AVX2 and
// FMA), or "" when nothing beats the detected kernel.
std::string better_blas_kernel();
// Call first in main: execs /proc/self/exe with OPENBLAS_CORETYPE set when OpenBLAS fell back to Prescott
// on a CPU with a better kernel; returns normally otherwise (and when the exec fails). PS_BLAS_REEXEC=0
// switches it off.
void reexec_with_better_blas_kernel(char** argv);

}  // namespace ps
