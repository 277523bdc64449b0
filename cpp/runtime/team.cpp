#include "runtime/team.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fastnn::runtime {

namespace {

// How long a session's idle worker spins before it sleeps: longer than the
// serial gaps of a training step (tens of microseconds), short enough that a
// long serial phase does not hold a core.
constexpr int64_t kTeamSpinMicros = 200;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

struct Team {
  int size = 1;
  std::atomic<uint64_t> generation{0};  // bumped when a task (or stop) is posted
  std::atomic<int> remaining{0};        // workers yet to finish the current task
  std::atomic<bool> stop{false};
  std::atomic<int> sleepers{0};
  const TaskRef* task = nullptr;
  int task_threads    = 1;
  bool running        = false;  // a task is out (a nested parallel() runs on one thread)
  std::mutex mutex;
  std::condition_variable wake;

  void post() {
    generation.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex);
      wake.notify_all();
    }
  }

  // Waits until the generation differs from `seen`; returns the new one.
  uint64_t wait_for_post(uint64_t seen) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::microseconds(kTeamSpinMicros);
    for (int spins = 0;; ++spins) {
      const uint64_t g = generation.load(std::memory_order_acquire);
      if (g != seen) return g;
      cpu_relax();
      if ((spins & 63) == 63 && std::chrono::steady_clock::now() > deadline) break;
    }
    std::unique_lock<std::mutex> lock(mutex);
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    wake.wait(lock, [&] { return generation.load(std::memory_order_seq_cst) != seen; });
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    return generation.load(std::memory_order_acquire);
  }

  void worker(int tid) {
    uint64_t seen = 0;
    for (;;) {
      seen = wait_for_post(seen);
      if (stop.load(std::memory_order_acquire)) return;
      if (tid < task_threads) (*task)(tid, task_threads);
      remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void run(const TaskRef& fn, int threads) {
    task         = &fn;
    task_threads = threads;
    running      = true;
    remaining.store(size - 1, std::memory_order_relaxed);
    post();
    fn(0, threads);
    for (int spins = 0; remaining.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < (1 << 16))
        cpu_relax();
      else
        std::this_thread::yield();  // a worker is off its core: let it back on
    }
    running = false;
  }
};

thread_local Team* t_team = nullptr;

// FASTNN_TEAM_SESSIONS=0 turns sessions off (libgomp regions throughout);
// read on every session, so a test can compare both in one process.
bool team_sessions_enabled() {
  const char* v = std::getenv("FASTNN_TEAM_SESSIONS");
  return v == nullptr || std::string(v) != "0";
}

}  // namespace

void parallel(int n, TaskRef fn) {
  if (n <= 1) return fn(0, 1);
  if (Team* team = t_team) {
    const int threads = std::min(n, team->size);
    if (threads <= 1 || team->running) return fn(0, 1);
    return team->run(fn, threads);
  }
#pragma omp parallel num_threads(n)
  fn(omp_get_thread_num(), omp_get_num_threads());
}

void parallel_for_dynamic_impl(int n, int64_t count, void* f, void (*call)(void*, int64_t)) {
  if (n <= 1 || count <= 1) {
    for (int64_t i = 0; i < count; ++i) call(f, i);
    return;
  }
  std::atomic<int64_t> next{0};
  parallel(static_cast<int>(std::min<int64_t>(n, count)), [&](int, int) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;) call(f, i);
  });
}

void run_in_team_impl(int n, void* body, void (*call)(void*)) {
  if (n <= 1 || t_team != nullptr || !team_sessions_enabled()) return call(body);
  Team team;
  std::exception_ptr error;
#pragma omp parallel num_threads(n)
  {
    const int tid = omp_get_thread_num();
    if (tid == 0) {
      team.size = omp_get_num_threads();
      // the workers read `size` only through run(), after this thread posts
      t_team = &team;
      try {
        call(body);
      } catch (...) {
        error = std::current_exception();
      }
      t_team = nullptr;
      team.stop.store(true, std::memory_order_release);
      team.post();
    } else {
      team.worker(tid);
    }
  }
  if (error) std::rethrow_exception(error);
}

bool in_team_session() { return t_team != nullptr; }

}  // namespace fastnn::runtime
