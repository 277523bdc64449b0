// fastnn.ops.activation / activation_grad: every keras.activations kind on
// NumPy arrays (softmax over the last axis).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>

#include "bindings/array_utils.h"
#include "ops/activations.h"

namespace py = pybind11;

namespace fastnn::bindings {

namespace {

ops::ActivationKind kind_from(const std::string& name) {
  try {
    return ops::activation_from_name(name);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

// rows x cols view of an array: softmax works over the last axis.
void rows_cols(const py::array& a, int64_t* rows, int64_t* cols) {
  *cols = a.ndim() == 0 ? 1 : a.shape(a.ndim() - 1);
  *rows = *cols == 0 ? 0 : a.size() / *cols;
}

py::array activation(const py::handle& x_obj, const std::string& name) {
  const ops::ActivationKind kind = kind_from(name);
  FloatArray x                   = as_float32_c(x_obj, "x");
  FloatArray y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  int64_t rows, cols;
  rows_cols(x, &rows, &cols);
  const float* xp = x.data();
  float* yp       = y.mutable_data();
  {
    py::gil_scoped_release release;
    ops::activation_forward(kind, yp, xp, rows, cols);
  }
  return std::move(y);
}

py::array activation_grad(const py::handle& dy_obj, const py::handle& x_obj,
                          const std::string& name) {
  const ops::ActivationKind kind = kind_from(name);
  FloatArray dy                  = as_float32_c(dy_obj, "dy");
  FloatArray x                   = as_float32_c(x_obj, "x");
  bool same                      = dy.ndim() == x.ndim();
  for (py::ssize_t i = 0; same && i < x.ndim(); ++i) same = dy.shape(i) == x.shape(i);
  if (!same)
    throw py::value_error("activation_grad: dy and x must have the same shape, got dy " +
                          shape_string(dy) + " and x " + shape_string(x));
  const std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
  FloatArray y(shape), dx(shape);
  int64_t rows, cols;
  rows_cols(x, &rows, &cols);
  const float* xp  = x.data();
  const float* dyp = dy.data();
  float* yp        = y.mutable_data();
  float* dxp       = dx.mutable_data();
  {
    py::gil_scoped_release release;
    ops::activation_forward(kind, yp, xp, rows, cols);
    ops::activation_backward(kind, dxp, dyp, xp, yp, rows, cols);
  }
  return std::move(dx);
}

}  // namespace

void bind_activations(py::module_& ops) {
  ops.def("activation", &activation, py::arg("x"), py::arg("name"),
          "keras.activations.<name>(x) as float32 (softmax over the last axis).");
  ops.def("activation_grad", &activation_grad, py::arg("dy"), py::arg("x"), py::arg("name"),
          "Gradient of the activation: dy * f'(x) (softmax: the Jacobian-vector product over "
          "the last axis). x is the activation's input.");
}

}  // namespace fastnn::bindings
