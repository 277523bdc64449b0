// Parallel regions of fastnn's kernels, and team sessions that keep one team
// of threads awake across the many short regions of a training step.
//
// parallel(n, fn) runs fn(tid, threads) on `threads` <= n threads, tid 0 being
// the caller, and returns when all have finished: an OpenMP parallel region,
// or, inside a TeamSession opened on the calling thread, a task handed to the
// session's waiting workers.
//
// Why sessions: between regions libgomp's workers spin only briefly
// (fastnn asks for GOMP_SPINCOUNT=1000, about 20 us, so that they do not hold
// cores other processes need), then sleep; waking a sleeping worker took
// 30-40 us on this project's 2-vCPU virtual machine, more than a
// 32-row GEMM saves by running on two threads. A step's serial gaps (the small
// layers, the loss) are often longer than 20 us. A session's workers wait by
// spinning for up to kTeamSpinMicros between tasks, then sleep on a condition
// variable; the session ends when the engine call returns, so between calls
// (Python code, other processes) the threads are libgomp's again.
//
// A task's work split depends only on (tid, threads), as with OpenMP, so
// results are the same inside and outside a session, and at any width: a
// session narrows its tasks for a while when a worker keeps losing its core to
// another process (the straggler back-off in team.cpp). FASTNN_TEAM_SESSIONS=0
// turns sessions off (read when the library loads); set_team_sessions changes
// it at run time.
//
// An exception thrown by a share of a task (on any thread) is rethrown by
// parallel() on the calling thread after every share has finished. A
// parallel() inside a share runs on that share's thread alone.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace fastnn::runtime {

// A non-owning reference to a callable void(int tid, int threads).
class TaskRef {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TaskRef>>>
  TaskRef(F&& f)  // NOLINT: implicit on purpose, like std::function_ref
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, int tid, int threads) {
          (*static_cast<std::remove_reference_t<F>*>(o))(tid, threads);
        }) {}
  void operator()(int tid, int threads) const { call_(object_, tid, threads); }

 private:
  void* object_;
  void (*call_)(void*, int, int);
};

void parallel(int n, TaskRef fn);

// Part `idx` of `count` items cut into `parts` contiguous, nearly equal
// ranges (the first count % parts ranges one longer): OpenMP's static split.
inline void split_range(int64_t count, int parts, int idx, int64_t* begin, int64_t* end) {
  const int64_t base = count / parts, extra = count % parts;
  *begin = idx * base + (idx < extra ? idx : extra);
  *end   = *begin + base + (idx < extra ? 1 : 0);
}

// f(i) for i in [0, count): thread t of T takes the t-th of T contiguous,
// nearly equal blocks (OpenMP's schedule(static)).
template <class F>
void parallel_for_static(int n, int64_t count, F&& f) {
  parallel(n, [&](int tid, int threads) {
    int64_t begin, end;
    split_range(count, threads, tid, &begin, &end);
    for (int64_t i = begin; i < end; ++i) f(i);
  });
}

// f(i) for i in [0, count), handed out one at a time (schedule(dynamic, 1)).
void parallel_for_dynamic_impl(int n, int64_t count, void* f, void (*call)(void*, int64_t));
template <class F>
void parallel_for_dynamic(int n, int64_t count, F&& f) {
  parallel_for_dynamic_impl(
      n, count, const_cast<void*>(static_cast<const void*>(&f)),
      [](void* o, int64_t i) { (*static_cast<std::remove_reference_t<F>*>(o))(i); });
}

// Runs body() on the calling thread while a team of n - 1 workers (n <= 1 or
// an enclosing session: none) waits for its parallel() calls. Exceptions from
// body propagate after the team has stopped.
void run_in_team_impl(int n, void* body, void (*call)(void*));
template <class F>
void run_in_team(int n, F&& body) {
  run_in_team_impl(n, const_cast<void*>(static_cast<const void*>(&body)),
                   [](void* o) { (*static_cast<std::remove_reference_t<F>*>(o))(); });
}

// A task for the session's workers alone, while the calling thread goes on
// (for work that does not depend on what the caller computes meanwhile: the
// next batch's rows during a step's serial stretch). start() posts
// fn(tid, threads) to the workers, tid 0 .. threads - 1 being workers 1 ..
// threads; outside a session, in one with no workers, or inside a task, it
// runs fn(0, 1) on the calling thread before returning. join() waits for the
// workers' shares and rethrows the first exception one threw; the destructor
// joins (fn must outlive the object). A parallel() while the task is out
// joins it first, so the workers are free for its shares. Both ask the task
// to stop first: a share that polls background_stop_requested() between small
// units of work can leave the rest to the caller instead of making it wait.
// background_busy() says whether the workers are still at it (a caller may
// then keep small work on its own thread rather than stop them).
class BackgroundTask {
 public:
  BackgroundTask()                                 = default;
  BackgroundTask(const BackgroundTask&)            = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;
  ~BackgroundTask();
  void start(const TaskRef& fn);
  void join();

 private:
  bool posted_ = false;
};

bool background_busy();
// Inside a share of a BackgroundTask on a worker: whether a join() or a
// parallel() waits for it to finish. Elsewhere false.
bool background_stop_requested();

// Straggles seen so far (team.cpp: a join that waited on a worker which had
// lost its core). With the back-off on (the default), tasks in a session run
// narrower for a while after one; turning it on or off also ends a back-off.
int64_t team_straggles();
void set_straggler_backoff(bool enabled);
bool straggler_backoff();

// Whether the calling thread is inside a session.
bool in_team_session();

// Turns team sessions on or off for the process (results are the same).
void set_team_sessions(bool enabled);
bool team_sessions();

}  // namespace fastnn::runtime
