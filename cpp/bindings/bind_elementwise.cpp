#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "bindings/array_utils.h"
#include "ops/elementwise.h"

namespace py = pybind11;

namespace fastnn::bindings {

namespace {

py::array relu(const py::handle& x_obj) {
  FloatArray x = as_float32_c(x_obj, "x");
  FloatArray y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  const float* xp = x.data();
  float* yp       = y.mutable_data();
  const int64_t n = x.size();
  {
    py::gil_scoped_release release;
    ops::relu_forward(yp, xp, n);
  }
  return std::move(y);
}

py::array relu_grad(const py::handle& dy_obj, const py::handle& x_obj) {
  FloatArray dy = as_float32_c(dy_obj, "dy");
  FloatArray x  = as_float32_c(x_obj, "x");
  bool same     = dy.ndim() == x.ndim();
  for (py::ssize_t i = 0; same && i < x.ndim(); ++i) same = dy.shape(i) == x.shape(i);
  if (!same)
    throw py::value_error("relu_grad: dy and x must have the same shape, got dy " +
                          shape_string(dy) + " and x " + shape_string(x));
  FloatArray dx(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  const float* dyp = dy.data();
  const float* xp  = x.data();
  float* dxp       = dx.mutable_data();
  const int64_t n  = x.size();
  {
    py::gil_scoped_release release;
    ops::relu_backward(dxp, dyp, xp, n);
  }
  return std::move(dx);
}

// Private: the cross-entropy's exp kernel on a float32 vector, for the tests.
py::array exp_shifted(const py::handle& x_obj, double m) {
  FloatArray x = as_float32_c(x_obj, "x");
  if (x.ndim() != 1) throw py::value_error("_exp_shifted: x must be 1-D, got " + shape_string(x));
  py::array_t<double> out(x.shape(0));
  const float* xp = x.data();
  double* op      = out.mutable_data();
  const int64_t n = x.size();
  {
    py::gil_scoped_release release;
    ops::elementwise_kernels().exp_shifted(op, xp, m, n);
  }
  return std::move(out);
}

// Private: the finiteness check (threads and all) on a flat float32 array of
// any layout, read in place from `offset` floats into its buffer, for the
// tests: every length and alignment, with neighbours the check must not read.
bool all_finite(const py::array_t<float, py::array::c_style>& x, int64_t offset, int64_t n) {
  if (x.ndim() != 1 || offset < 0 || n < 0 || offset + n > x.shape(0))
    throw py::value_error("_all_finite: [offset, offset + n) must lie in a 1-D float32 array");
  const float* p = x.data() + offset;
  py::gil_scoped_release release;
  return ops::all_finite(p, n);
}

}  // namespace

void bind_elementwise(py::module_& ops) {
  ops.def("_all_finite", &all_finite, py::arg("x"), py::arg("offset"), py::arg("n"),
          "Private: whether x[offset:offset + n] holds no NaN or Inf (the engine's input check).");
  ops.def("_exp_shifted", &exp_shifted, py::arg("x"), py::arg("m"),
          "Private: exp(float64(x) - m) by the active ISA's cross-entropy exp kernel.");
  ops.def("relu", &relu, py::arg("x"),
          "max(x, 0) elementwise, as float32; NaN stays NaN (as torch.relu and Keras).");
  ops.def("relu_grad", &relu_grad, py::arg("dy"), py::arg("x"),
          "Gradient of relu: 0 where x <= 0, else dy (x is relu's input; a NaN x passes dy, "
          "as torch's relu backward does).");
}

}  // namespace fastnn::bindings
