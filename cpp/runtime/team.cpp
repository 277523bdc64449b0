#include "runtime/team.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace fastnn::runtime {

namespace {

// How long a session's idle worker spins before it sleeps: longer than the
// serial gaps of a training step (tens of microseconds), short enough that a
// long serial phase does not hold a core.
constexpr int64_t kTeamSpinMicros = 200;
// How long the calling thread spins for the workers to finish a task before it
// yields its core (a worker that was pre-empted needs one to finish).
constexpr int64_t kJoinSpinMicros = 50;

// Straggler back-off. When another process takes one of the cores, a team
// worker sits off-CPU for a scheduler slice (milliseconds) and each task's
// join waits for it: with one busy process beside a 2-thread fit on this
// 2-core machine, an epoch at batch 32 took 6x, at batch 128 3x, its 1-thread
// time. So the calling thread times each task: its own share, and its wait at
// the join. A wait longer than kStraggleMicros and longer than its own share
// (a balanced share that late lost its core), or a team that over a window of
// kWindowMicros waited longer than it worked (two threads slower than one),
// marks a straggle; tasks then run one thread narrower for a back-off period,
// after which the full width is tried again. A straggle within a period after
// the last back-off ended doubles the period (up to kBackoffMaxMicros, so a
// probe at full width costs a few percent), otherwise it is kBackoffMinMicros.
// The split of work depends on the width only for speed (team.h).
constexpr int64_t kStraggleMicros   = 500;
constexpr int64_t kWindowMicros     = 2000;
constexpr int64_t kBackoffMinMicros = 2000;
constexpr int64_t kBackoffMaxMicros = 128000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

using Clock = std::chrono::steady_clock;

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

// Process-wide, like the contention it tracks. Concurrent sessions may
// overwrite each other's updates: that only shifts a period.
std::atomic<bool> g_backoff_enabled{true};
std::atomic<int> g_narrow_width{0};      // the widest a task may run while backing off
std::atomic<int64_t> g_narrow_until{0};  // when the back-off ends (now_micros); 0: never began
std::atomic<int64_t> g_backoff{kBackoffMinMicros};
std::atomic<int64_t> g_straggles{0};

// The width a task of `threads` threads may run at now.
int straggler_width(int threads) {
  // Off means full width, also against a record_straggle that read the switch
  // on and stored its end time after set_straggler_backoff(false) cleared it.
  if (!g_backoff_enabled.load(std::memory_order_relaxed)) return threads;
  // acquire: pairs with the release in record_straggle, so a width stored
  // with the end time is seen (not the initial 0: a task on one thread)
  const int64_t until = g_narrow_until.load(std::memory_order_acquire);
  if (until == 0 || now_micros() >= until) return threads;
  return std::min(threads, g_narrow_width.load(std::memory_order_relaxed));
}

// A task of `width` threads posted at `posted` and joined at `joined` straggled.
void record_straggle(int width, int64_t posted, int64_t joined) {
  g_straggles.fetch_add(1, std::memory_order_relaxed);
  if (!g_backoff_enabled.load(std::memory_order_relaxed)) return;
  int64_t period       = g_backoff.load(std::memory_order_relaxed);
  const bool recurring = posted - g_narrow_until.load(std::memory_order_relaxed) < period;
  period               = recurring ? std::min(2 * period, kBackoffMaxMicros) : kBackoffMinMicros;
  g_backoff.store(period, std::memory_order_relaxed);
  g_narrow_width.store(std::max(1, width - 1), std::memory_order_relaxed);
  g_narrow_until.store(joined + period, std::memory_order_release);
}

struct Team {
  int size = 1;
  // bumped when a task (or stop) is posted; workers poll it
  alignas(64) std::atomic<uint64_t> generation{0};
  // workers yet to finish the current task; the calling thread polls it
  alignas(64) std::atomic<int> remaining{0};
  std::atomic<bool> stop{false};
  std::atomic<int> sleepers{0};
  std::atomic<int> arrived{0};  // workers that have entered their loop
  // The task of generation g is in slots[g & 1]. The caller waits only for
  // the task's own threads, so a worker outside it may still be reading the
  // previous post while the next is written: it reads a slot, then checks
  // that the generation did not move on (a seqlock), and the two slots keep
  // the slot it reads from being rewritten before the generation moves.
  struct Slot {
    std::atomic<const TaskRef*> task{nullptr};
    std::atomic<int> threads{1};
  };
  Slot slots[2];
  bool running = false;  // a task is out (a nested parallel() runs on one thread)
  std::mutex mutex;
  std::condition_variable wake;
  std::exception_ptr task_error;             // the first exception a worker's share threw
  int64_t window_work = 0, window_wait = 0;  // the calling thread's, since the window began
  int64_t last_join = 0;                     // when the previous task joined (now_micros)

  void post() {
    generation.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex);
      wake.notify_all();
    }
  }

  // Waits until the generation differs from `seen`; returns the new one.
  uint64_t wait_for_post(uint64_t seen) {
    const auto deadline = Clock::now() + std::chrono::microseconds(kTeamSpinMicros);
    for (int spins = 0;; ++spins) {
      const uint64_t g = generation.load(std::memory_order_acquire);
      if (g != seen) return g;
      cpu_relax();
      if ((spins & 63) == 63 && Clock::now() > deadline) break;
    }
    std::unique_lock<std::mutex> lock(mutex);
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    wake.wait(lock, [&] { return generation.load(std::memory_order_seq_cst) != seen; });
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    return generation.load(std::memory_order_acquire);
  }

  // The background task (team.h's BackgroundTask): its function, run by the
  // workers through `shim` as tids 0 .. size - 2 of size - 1.
  const TaskRef* background_fn = nullptr;
  bool background              = false;                  // out and not yet joined
  alignas(64) std::atomic<bool> background_stop{false};  // a join waits
  struct Shim {
    Team* team;
    void operator()(int tid, int threads) const { (*team->background_fn)(tid - 1, threads - 1); }
  } shim{this};
  TaskRef shim_ref{shim};

  void worker(int tid);

  // Spins (then yields) until the workers of the task out have finished.
  void wait_remaining() {
    const auto deadline = Clock::now() + std::chrono::microseconds(kJoinSpinMicros);
    for (int spins = 0; remaining.load(std::memory_order_acquire) != 0; ++spins) {
      if ((spins & 63) != 63 || Clock::now() < deadline)
        cpu_relax();
      else
        std::this_thread::yield();  // a worker is off its core: let it back on
    }
  }

  void start_background(const TaskRef& fn) {
    background_fn = &fn;
    Slot& slot    = slots[(generation.load(std::memory_order_relaxed) + 1) & 1];
    slot.task.store(&shim_ref, std::memory_order_release);
    slot.threads.store(size, std::memory_order_release);
    task_error = nullptr;
    background = true;
    background_stop.store(false, std::memory_order_relaxed);
    remaining.store(size - 1, std::memory_order_relaxed);
    post();
  }

  void join_background() {
    background_stop.store(true, std::memory_order_release);
    wait_remaining();
    background_stop.store(false, std::memory_order_relaxed);
    background                   = false;
    last_join                    = now_micros();
    const std::exception_ptr err = task_error;
    task_error                   = nullptr;
    if (err) std::rethrow_exception(err);
  }

  // Runs fn on `threads` threads and returns when those workers (tids 1 ..
  // threads - 1) have finished their shares, also when a share threw (the
  // first exception is rethrown here after the join: fn's data lives on this
  // thread's stack). Workers outside the task are not waited for, so one
  // that lost its core does not hold up a narrowed task.
  // (parallel() has joined a background task first.)
  void run(const TaskRef& fn, int threads) {
    Slot& slot = slots[(generation.load(std::memory_order_relaxed) + 1) & 1];
    slot.task.store(&fn, std::memory_order_release);
    slot.threads.store(threads, std::memory_order_release);
    task_error = nullptr;
    running    = true;
    remaining.store(threads - 1, std::memory_order_relaxed);
    // A worker still starting (the session's first tasks) or asleep after a
    // serial gap longer than its spin joins late by its wake-up time, up to
    // milliseconds on a virtual machine whose idle vCPU was descheduled: no
    // core was taken from it, so such a task does not count toward the
    // back-off. (Asleep after a shorter gap, it was off its core while it
    // spun: that counts.)
    const int64_t posted = now_micros();
    const bool awake =
        arrived.load(std::memory_order_relaxed) == size - 1 &&
        (sleepers.load(std::memory_order_seq_cst) == 0 || posted - last_join < kTeamSpinMicros);
    post();
    std::exception_ptr error;
    try {
      fn(0, threads);
    } catch (...) {
      error = std::current_exception();
    }
    const int64_t own_done = now_micros();
    wait_remaining();
    running              = false;
    const int64_t joined = now_micros(), waited = joined - own_done;
    last_join          = joined;
    const int64_t work = own_done - posted;
    if (awake) {
      window_work += work;
      window_wait += waited;
      if (waited > kStraggleMicros && waited > work) {
        record_straggle(threads, posted, joined);
        window_work = window_wait = 0;
      } else if (window_work + window_wait >= kWindowMicros) {
        if (window_wait > window_work) record_straggle(threads, posted, joined);
        window_work = window_wait = 0;
      }
    }
    if (!error) error = task_error;
    if (error) std::rethrow_exception(error);
  }
};

thread_local Team* t_team        = nullptr;  // the session this thread opened
thread_local bool t_in_task      = false;    // a worker running its share of a task
thread_local Team* t_worker_team = nullptr;  // the session this worker serves

void Team::worker(int tid) {
  t_in_task     = true;  // a parallel() inside a share runs on one thread
  t_worker_team = this;
  uint64_t seen = 0;
  arrived.fetch_add(1, std::memory_order_relaxed);
  for (;;) {
    uint64_t g          = wait_for_post(seen);
    const TaskRef* task = nullptr;
    int threads         = 1;
    for (;;) {  // the slot of generation g, unless the caller has posted again
      const Slot& slot   = slots[g & 1];
      task               = slot.task.load(std::memory_order_acquire);
      threads            = slot.threads.load(std::memory_order_acquire);
      const uint64_t now = generation.load(std::memory_order_acquire);
      if (now == g) break;
      g = now;
    }
    seen = g;
    if (stop.load(std::memory_order_acquire)) break;
    if (tid >= threads) continue;  // not in this task: the caller does not wait for it
    try {
      (*task)(tid, threads);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!task_error) task_error = std::current_exception();
    }
    remaining.fetch_sub(1, std::memory_order_acq_rel);
  }
  t_in_task     = false;
  t_worker_team = nullptr;
}

// FASTNN_TEAM_SESSIONS=0 turns sessions off. Read when the library loads
// (in Python: the import of fastnn._core, under the GIL), not at the first
// engine call: that runs without the GIL, so its getenv could race another
// Python thread's os.environ update, and glibc's getenv is not safe against a
// concurrent setenv (which may free the environment array being read).
int sessions_from_env() {
  const char* env = std::getenv("FASTNN_TEAM_SESSIONS");
  return env != nullptr && std::strcmp(env, "0") == 0 ? 0 : 1;
}
std::atomic<int> g_sessions{sessions_from_env()};  // 0 or 1

bool team_sessions_enabled() { return g_sessions.load(std::memory_order_relaxed) == 1; }

}  // namespace

void parallel(int n, TaskRef fn) {
  if (n <= 1 || t_in_task) return fn(0, 1);
  if (Team* team = t_team) {
    const int threads = straggler_width(std::min(n, team->size));
    if (team->running) return fn(0, 1);
    if (team->background) team->join_background();
    if (threads <= 1) {  // narrowed to this thread: a parallel() inside stays on it
      team->running = true;
      struct Busy {
        bool& flag;
        ~Busy() { flag = false; }  // also when fn throws
      } busy{team->running};
      return fn(0, 1);
    }
    return team->run(fn, threads);
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(n)
  {
    try {
      fn(omp_get_thread_num(), omp_get_num_threads());
    } catch (...) {
#pragma omp critical(fastnn_parallel_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
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
  if (n <= 1 || t_team != nullptr || t_in_task || !team_sessions_enabled()) return call(body);
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
      if (team.background) {  // a BackgroundTask's destructor joins: this is a safety net
        try {
          team.join_background();
        } catch (...) {
          if (!error) error = std::current_exception();
        }
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

BackgroundTask::~BackgroundTask() {
  try {
    join();
  } catch (...) {  // a destructor does not throw: join() explicitly to see it
  }
}

void BackgroundTask::start(const TaskRef& fn) {
  join();
  Team* team = t_team;
  if (team == nullptr || team->size <= 1 || t_in_task || team->running || team->background ||
      straggler_width(team->size) < team->size) {
    fn(0, 1);  // no free workers (or one keeps losing its core): run it here
    return;
  }
  team->start_background(fn);
  posted_ = true;
}

void BackgroundTask::join() {
  if (!posted_) return;
  posted_ = false;
  if (Team* team = t_team; team != nullptr && team->background) team->join_background();
}

bool background_stop_requested() {
  const Team* team = t_worker_team;
  return team != nullptr && team->background_stop.load(std::memory_order_acquire);
}

bool background_busy() {
  const Team* team = t_team;
  return team != nullptr && team->background &&
         team->remaining.load(std::memory_order_acquire) != 0;
}

int64_t team_straggles() { return g_straggles.load(std::memory_order_relaxed); }
void set_straggler_backoff(bool enabled) {
  g_backoff_enabled.store(enabled, std::memory_order_relaxed);
  g_narrow_until.store(0, std::memory_order_relaxed);
  g_backoff.store(kBackoffMinMicros, std::memory_order_relaxed);
}

bool straggler_backoff() { return g_backoff_enabled.load(std::memory_order_relaxed); }

bool in_team_session() { return t_team != nullptr; }

void set_team_sessions(bool enabled) {
  g_sessions.store(enabled ? 1 : 0, std::memory_order_relaxed);
}

bool team_sessions() { return team_sessions_enabled(); }

}  // namespace fastnn::runtime
