#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/cpu_features.h"
#include "runtime/dispatch.h"
#include "runtime/team.h"
#include "runtime/threads.h"

namespace py = pybind11;

namespace fastnn::bindings {

void bind_runtime(py::module_& m) {
  m.def("get_num_threads", &runtime::num_threads, "Threads fastnn's kernels use.");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1 || n > runtime::kMaxThreads)
          throw py::value_error("num_threads must be in [1, " +
                                std::to_string(runtime::kMaxThreads) + "], got " +
                                std::to_string(n));
        runtime::set_num_threads(n);
      },
      py::arg("n"));
  m.def("openmp_enabled", &runtime::openmp_enabled);
  m.def("compiler", []() { return std::string(FASTNN_COMPILER); });
  m.def("active_isa", []() { return std::string(runtime::isa_name(runtime::active_isa())); });
  m.def("available_isas", []() {
    std::vector<std::string> names;
    for (auto isa : runtime::available_isas()) names.emplace_back(runtime::isa_name(isa));
    return names;
  });
  m.def("compiled_isas", []() {
    std::vector<std::string> names;
    for (auto isa : runtime::compiled_isas()) names.emplace_back(runtime::isa_name(isa));
    return names;
  });
  m.def(
      "set_isa",
      [](const std::string& name) {
        try {
          runtime::set_active_isa(name);
        } catch (const std::runtime_error& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("name"), "Forces the kernel set (for tests); raises ValueError when unavailable.");
  m.def(
      "_team_selftest",
      [](int threads, int tasks, int gap_us, bool raise_at_end, int raise_in_task_tid,
         int straggle_us) {
        if (threads < 1 || tasks < 0 || gap_us < 0 || straggle_us < 0)
          throw py::value_error("bad selftest arguments");
        bool in_session = false;
        int widest = 0, nested_widest = 0, straggled_width = 0, next_width = 0;
        {
          py::gil_scoped_release release;
          runtime::run_in_team(threads, [&] {
            in_session = runtime::in_team_session();
            for (int t = 0; t < tasks; ++t) {
              // a serial gap: past the spin window the workers sleep
              if (gap_us) std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
              std::atomic<int> calls{0};
              std::atomic<int64_t> tid_sum{0};
              int team = 0;
              runtime::parallel(threads, [&](int tid, int n) {
                if (tid == raise_in_task_tid && t == tasks / 2)
                  throw std::runtime_error("selftest: raised in a task share");
                calls.fetch_add(1);
                tid_sum.fetch_add(tid + 1);
                if (tid == 0) team = n;
                // the last thread of the second task (the workers are up by
                // then) loses its core for a while
                if (straggle_us && t == 1 && tid == n - 1 && n > 1)
                  std::this_thread::sleep_for(std::chrono::microseconds(straggle_us));
                int inner = 0;
                runtime::parallel(threads, [&](int, int m) { inner = m; });
                if (tid == 0) nested_widest = std::max(nested_widest, inner);
              });
              widest = std::max(widest, team);
              if (t == 1) straggled_width = team;
              if (t == 2) next_width = team;
              if (calls.load() != team || tid_sum.load() != int64_t{team} * (team + 1) / 2)
                throw std::runtime_error("a task did not run once on every thread");
              std::vector<std::atomic<int>> hits(997);
              runtime::parallel_for_dynamic(threads, 997, [&](int64_t i) { hits[i].fetch_add(1); });
              for (auto& h : hits)
                if (h.load() != 1) throw std::runtime_error("parallel_for_dynamic missed an item");
            }
            if (raise_at_end) throw std::runtime_error("selftest: raised inside the session");
          });
        }
        py::dict d;
        d["in_session"]    = in_session;
        d["widest"]        = widest;
        d["nested_widest"] = nested_widest;
        if (straggle_us) {
          d["straggled_width"] = straggled_width;
          d["next_width"]      = next_width;
        }
        return d;
      },
      py::arg("threads"), py::arg("tasks"), py::arg("gap_us") = 0, py::arg("raise_at_end") = false,
      py::arg("raise_in_task_tid") = -1, py::arg("straggle_us") = 0,
      "Testing hook: runs `tasks` parallel tasks in a team session (cpp/runtime/team.h), "
      "checks each ran once per thread, and reports the session's team widths; "
      "raise_in_task_tid: the thread whose share of the middle task throws; straggle_us: "
      "the last thread of the second task sleeps that long (reports the widths of that task and "
      "the next: straggled_width, next_width).");
  m.def(
      "_background_selftest",
      [](int threads, int tasks, bool join_by_parallel, int raise_at_task, bool caller_raises,
         bool stoppable) {
        if (threads < 1 || tasks < 0) throw py::value_error("bad selftest arguments");
        constexpr int64_t kItems = 1009;
        int off_caller = 0, stopped_early = 0;
        {
          py::gil_scoped_release release;
          runtime::run_in_team(threads, [&] {
            const std::thread::id caller = std::this_thread::get_id();
            for (int t = 0; t < tasks; ++t) {
              std::vector<std::atomic<int>> hits(kItems);
              std::atomic<int> shares_off_caller{0};
              std::atomic<int64_t> claimed{0};
              auto fill = [&](int tid, int n) {
                if (std::this_thread::get_id() != caller) shares_off_caller.fetch_add(1);
                if (stoppable) {  // items one at a time until a join asks to stop
                  while (!runtime::background_stop_requested()) {
                    const int64_t i = claimed.fetch_add(1);
                    if (i >= kItems) break;
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
                    hits[i].fetch_add(1);
                  }
                  return;
                }
                // late enough that the caller is past start() and on its own work
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                if (t == raise_at_task)
                  throw std::runtime_error("selftest: raised in the background");
                int64_t begin, end;
                runtime::split_range(kItems, n, tid, &begin, &end);
                for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
              };
              const runtime::TaskRef fill_ref(fill);
              runtime::BackgroundTask task;
              task.start(fill_ref);
              if (caller_raises) throw std::runtime_error("selftest: the caller raised");
              // the items done: all of them, or (stoppable) those claimed
              auto done_once = [&] {
                const int64_t done = stoppable ? std::min(kItems, claimed.load()) : kItems;
                for (int64_t i = 0; i < kItems; ++i)
                  if (hits[i].load() != (i < done ? 1 : 0)) return false;
                return true;
              };
              if (stoppable) std::this_thread::sleep_for(std::chrono::microseconds(300));
              if (join_by_parallel) {
                runtime::parallel(threads, [](int, int) {});
                if (!done_once())
                  throw std::runtime_error("parallel() did not join the background");
              }
              task.join();
              if (!done_once()) throw std::runtime_error("join() returned before the background");
              if (shares_off_caller.load() > 0) ++off_caller;
              if (stoppable && claimed.load() < kItems) ++stopped_early;
            }
          });
        }
        py::dict d;
        d["off_caller"]    = off_caller;
        d["stopped_early"] = stopped_early;
        return d;
      },
      py::arg("threads"), py::arg("tasks"), py::arg("join_by_parallel") = false,
      py::arg("raise_at_task") = -1, py::arg("caller_raises") = false, py::arg("stoppable") = false,
      "Testing hook: runs `tasks` runtime::BackgroundTask fills of 1,009 counters in a team "
      "session and checks each counter was hit once when join() (or, with join_by_parallel, a "
      "parallel() before it) returned; reports how many tasks ran off the calling thread "
      "(off_caller) and how many stopped before the last item (stopped_early). stoppable: the "
      "task takes items one at a time (20 us each) until background_stop_requested(), and the "
      "caller joins after 300 us; raise_at_task: the task whose shares throw; caller_raises: the "
      "caller throws while the first task is out.");
  m.def("_set_team_sessions", &runtime::set_team_sessions, py::arg("enabled"),
        "Private: team sessions on or off for the process (results are the same).");
  m.def("_team_sessions", &runtime::team_sessions, "Private: whether team sessions are on.");
  m.def("_team_straggles", &runtime::team_straggles,
        "Private: task joins so far that waited on a worker which had lost its core.");
  m.def("_set_straggler_backoff", &runtime::set_straggler_backoff, py::arg("enabled"),
        "Private: the team sessions' straggler back-off on or off (ends a back-off).");
  m.def("_straggler_backoff", &runtime::straggler_backoff,
        "Private: whether the straggler back-off is on.");
  m.def("cpu_features", []() {
    const auto& f = runtime::cpu_features();
    py::dict d;
    d["avx2"]    = f.avx2;
    d["fma"]     = f.fma;
    d["f16c"]    = f.f16c;
    d["avx512f"] = f.avx512f;
    return d;
  });
}

}  // namespace fastnn::bindings
