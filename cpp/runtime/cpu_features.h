// CPU feature detection, done once per process.
//
// The kernels fastnn ships are grouped into ISA levels. A level is usable when
// the library was compiled with its kernels (FASTNN_HAVE_<ISA>) *and* the CPU
// (and OS, for the wider registers) supports every instruction it needs.
#pragma once

namespace fastnn::runtime {

struct CpuFeatures {
  bool avx2    = false;  // AVX2 integer and float instructions (and OS ymm state)
  bool fma     = false;  // FMA3
  bool f16c    = false;  // half <-> float conversions
  bool avx512f = false;  // AVX-512 Foundation (and OS zmm/opmask state)
};

// The features of the CPU this process runs on (computed on first call).
const CpuFeatures& cpu_features();

}  // namespace fastnn::runtime
