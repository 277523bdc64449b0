// Thread count used by fastnn's OpenMP regions.
//
// Default: what OpenMP would use (omp_get_max_threads(), which honours
// OMP_NUM_THREADS). set_num_threads changes it for fastnn only: every parallel
// region in the library passes num_threads(runtime::num_threads()).
#pragma once

namespace fastnn::runtime {

// The most threads fastnn runs: each holds packing buffers and a stack, and
// libgomp fails (a crash, not an error) on teams of ~10^5 threads.
constexpr int kMaxThreads = 1024;

// At most kMaxThreads (an OMP_NUM_THREADS above it is lowered to it).
int num_threads();
// 1 <= n <= kMaxThreads; throws std::invalid_argument otherwise.
void set_num_threads(int n);
bool openmp_enabled();

}  // namespace fastnn::runtime
