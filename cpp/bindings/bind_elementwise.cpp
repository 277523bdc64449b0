#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <vector>

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

// Private: a C-contiguous float64 array as float32 of the same shape, and the
// flat index of its first finite value beyond float32's range (-1: none),
// which the cast would make Inf. NumPy's cast needs its errstate for that
// (about a microsecond on every call); this loop checks as it converts. A
// value beyond the range is stored as Inf (the caller refuses the array).
py::tuple float32_or_overflow(const py::array_t<double, py::array::c_style>& x) {
  std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
  py::array_t<float> out(shape);
  const double* src = x.data();
  float* dst        = out.mutable_data();
  const int64_t n   = static_cast<int64_t>(x.size());
  int64_t first     = -1;
  {
    py::gil_scoped_release release;
    constexpr float largest = std::numeric_limits<float>::max();
    // from here up a double rounds to float's Inf (halfway between the largest
    // float and 2^128, a tie that rounds to the even 2^128)
    const double overflow = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);
    for (int64_t i = 0; i < n; ++i) {
      const double v         = src[i];
      const double magnitude = std::fabs(v);
      if (magnitude <= static_cast<double>(largest) || !std::isfinite(v)) {  // NaN, Inf too
        dst[i] = static_cast<float>(v);
      } else if (magnitude < overflow) {  // rounds to the largest float, as IEEE's cast
        dst[i] = v > 0 ? largest : -largest;
      } else {  // finite, but Inf in float32 (stored as Inf; no out-of-range cast)
        dst[i] = v > 0 ? std::numeric_limits<float>::infinity()
                       : -std::numeric_limits<float>::infinity();
        if (first < 0) first = i;
      }
    }
  }
  return py::make_tuple(std::move(out), first);
}

}  // namespace

void bind_elementwise(py::module_& ops) {
  ops.def("_float32_or_overflow", &float32_or_overflow, py::arg("x"),
          "Private: (x as float32, flat index of its first finite value beyond float32's range "
          "or -1), for a C-contiguous float64 x.");
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
