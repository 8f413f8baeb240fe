#include "models/util/blas_kernel.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace ps {

std::string blas_kernel() {
  using CoreName = char* (*)();
  const auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!fn) return "";
  const char* name = fn();
  return name ? std::string(name) : std::string();
}

std::string better_blas_kernel() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  // SkylakeX, not Cooperlake, even with AVX512-BF16: 0.3.21 does not take "Cooperlake" by name, and their
  // sgemm kernels are the same (PyTorch runs bf16 matmuls through oneDNN, not OpenBLAS).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

void reexec_with_better_blas_kernel(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice, or our own second start
  if (const char* off = std::getenv("PS_BLAS_REEXEC"); off && std::string(off) == "0") return;
  std::string detected = blas_kernel();
  for (auto& c : detected) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (detected != "prescott") return;
  const std::string kernel = better_blas_kernel();
  if (kernel.empty()) return;
  setenv("OPENBLAS_CORETYPE", kernel.c_str(), 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with the slow kernel rather than not at all
}

}  // namespace ps
