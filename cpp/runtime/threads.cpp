#include "runtime/threads.h"

#include <omp.h>

#include <atomic>
#include <stdexcept>
#include <string>

namespace fastnn::runtime {

namespace {
std::atomic<int> g_num_threads{0};  // 0: not chosen yet, use OpenMP's default
}

int num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
  n = omp_get_max_threads();
  return n > 0 ? n : 1;
}

void set_num_threads(int n) {
  if (n < 1)
    throw std::invalid_argument("num_threads must be a positive integer, got " + std::to_string(n));
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
