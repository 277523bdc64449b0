// fastnn._core: the compiled module. Each area registers its functions from its
// own file (bind_<area>.cpp); this file only calls them.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace fastnn::bindings {
void bind_runtime(py::module_& m);
void bind_elementwise(py::module_& ops);
void bind_activations(py::module_& ops);
void bind_losses(py::module_& ops);
void bind_nn(py::module_& m);
void bind_optim(py::module_& m, py::module_& ops);
void bind_gemm(py::module_& ops);
}  // namespace fastnn::bindings

PYBIND11_MODULE(_core, m) {
  m.doc()               = "fastnn's compiled core (private: use the fastnn package)";
  m.attr("__version__") = FASTNN_VERSION;
  py::module_ ops       = m.def_submodule("ops", "Raw kernels on NumPy arrays");
  fastnn::bindings::bind_runtime(m);
  fastnn::bindings::bind_elementwise(ops);
  fastnn::bindings::bind_activations(ops);
  fastnn::bindings::bind_losses(ops);
  fastnn::bindings::bind_nn(m);
  fastnn::bindings::bind_optim(m, ops);
  fastnn::bindings::bind_gemm(ops);
}
