#include "runtime/cpu_features.h"

namespace fastnn::runtime {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports reads cpuid and, for AVX levels, checks through
  // xgetbv that the OS saves the ymm/zmm state.
  __builtin_cpu_init();
  f.avx2    = __builtin_cpu_supports("avx2");
  f.fma     = __builtin_cpu_supports("fma");
  f.f16c    = __builtin_cpu_supports("f16c");
  f.avx512f = __builtin_cpu_supports("avx512f");
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace fastnn::runtime
