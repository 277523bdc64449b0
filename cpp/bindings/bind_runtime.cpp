#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "runtime/cpu_features.h"
#include "runtime/dispatch.h"
#include "runtime/threads.h"

namespace py = pybind11;

namespace fastnn::bindings {

void bind_runtime(py::module_& m) {
  m.def("get_num_threads", &runtime::num_threads, "Threads fastnn's kernels use.");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) throw py::value_error("num_threads must be >= 1, got " + std::to_string(n));
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
