#include "runtime/threads.h"

#include <omp.h>

#include <atomic>
#include <stdexcept>
#include <string>

namespace fastnn::runtime {

namespace {
std::atomic<int> g_num_threads{0};      // 0: not chosen yet, use OpenMP's default
std::atomic<int> g_default_threads{0};  // OpenMP's default at the top level
}  // namespace

int num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
  // Inside a parallel region (a team session: runtime/team.h) OpenMP's
  // default is the next nesting level's (OMP_NUM_THREADS=4,1 gives 1): use
  // the top level's, read outside any region.
  if (omp_in_parallel()) {
    n = g_default_threads.load(std::memory_order_relaxed);
    return n > 0 ? n : 1;
  }
  n = omp_get_max_threads();
  n = n > 0 ? (n < kMaxThreads ? n : kMaxThreads) : 1;
  g_default_threads.store(n, std::memory_order_relaxed);
  return n;
}

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("num_threads must be an integer in [1, " +
                                std::to_string(kMaxThreads) + "], got " + std::to_string(n));
  g_num_threads.store(n, std::memory_order_relaxed);
}

bool openmp_enabled() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

}  // namespace fastnn::runtime
