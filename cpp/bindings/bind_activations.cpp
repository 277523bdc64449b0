// fastnn.ops.activation / activation_grad: every keras.activations kind on
// NumPy arrays (softmax and log_softmax over the last axis).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
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

// rows x cols view of an array: softmax and log_softmax work over the last axis.
void rows_cols(const py::array& a, int64_t* rows, int64_t* cols) {
  *cols = a.ndim() == 0 ? 1 : a.shape(a.ndim() - 1);
  *rows = *cols == 0 ? 0 : a.size() / *cols;
}

// Keras's name of the parameter of `kind`.
const char* param_name(ops::ActivationKind kind) {
  switch (kind) {
    case ops::ActivationKind::leaky_relu:
      return "negative_slope";
    case ops::ActivationKind::soft_shrink:
    case ops::ActivationKind::hard_shrink:
      return "threshold";
    case ops::ActivationKind::squareplus:
      return "b";
    default:
      return "alpha";  // elu, celu
  }
}

// `param` (None: Keras's default) is leaky_relu's negative slope, elu's or
// celu's alpha, the shrinks' threshold or squareplus's b.
float param_for(ops::ActivationKind kind, const py::handle& param) {
  if (param.is_none()) return ops::activation_default_param(kind);
  if (!ops::activation_has_param(kind))
    throw py::value_error(std::string("activation '") + ops::activation_name(kind) +
                          "' takes no parameter");
  const double a = as_double(param, "activation parameter");
  if (!std::isfinite(a) || !std::isfinite(static_cast<float>(a)))
    throw py::value_error("activation parameter must be finite, got " + std::to_string(a));
  if (const char* rule = ops::activation_param_rule(kind, static_cast<float>(a)))
    throw py::value_error(std::string(ops::activation_name(kind)) + " " + param_name(kind) +
                          " must be " + rule + ", got " + std::to_string(a));
  return static_cast<float>(a);
}

// relu_clipped takes (negative_slope, max_value or None, threshold), each >= 0.
ops::ActivationParams params_for(ops::ActivationKind kind, const py::handle& param) {
  if (kind != ops::ActivationKind::relu_clipped) {
    ops::ActivationParams p;
    p.a = param_for(kind, param);
    return p;
  }
  const char* expected =
      "relu_clipped takes param=(negative_slope, max_value or None, threshold), each >= 0";
  if (!py::isinstance<py::sequence>(param) || py::len(param) != 3) throw py::value_error(expected);
  const py::sequence seq = param.cast<py::sequence>();
  const double slope     = as_double(seq[0], "negative_slope");
  const double max_value = seq[1].is_none() ? INFINITY : as_double(seq[1], "max_value");
  const double threshold = as_double(seq[2], "threshold");
  if (!(slope >= 0.0 && std::isfinite(slope) && max_value >= 0.0 && threshold >= 0.0 &&
        std::isfinite(threshold)))
    throw py::value_error(expected);
  return ops::relu_clipped_params(static_cast<float>(slope), static_cast<float>(max_value),
                                  static_cast<float>(threshold));
}

py::array activation(const py::handle& x_obj, const py::handle& name, const py::handle& param) {
  const ops::ActivationKind kind = kind_from(as_name(name, "activation: name"));
  const ops::ActivationParams a  = params_for(kind, param);
  FloatArray x                   = as_float32_c(x_obj, "x");
  FloatArray y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  int64_t rows, cols;
  rows_cols(x, &rows, &cols);
  const float* xp = x.data();
  float* yp       = y.mutable_data();
  {
    py::gil_scoped_release release;
    ops::activation_forward(kind, yp, xp, rows, cols, a);
  }
  return std::move(y);
}

py::array activation_grad(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& name,
                          const py::handle& param) {
  const ops::ActivationKind kind = kind_from(as_name(name, "activation_grad: name"));
  const ops::ActivationParams a  = params_for(kind, param);
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
    ops::activation_forward(kind, yp, xp, rows, cols, a);
    ops::activation_backward(kind, dxp, dyp, xp, yp, rows, cols, a);
  }
  return std::move(dx);
}

}  // namespace

void bind_activations(py::module_& ops) {
  ops.def("activation", &activation, py::arg("x"), py::arg("name"), py::arg("param") = py::none(),
          "keras.activations.<name>(x) as float32 (softmax and log_softmax over the last axis); "
          "param is leaky_relu's negative_slope, elu's or celu's alpha, soft_shrink's or "
          "hard_shrink's threshold or squareplus's b (None: Keras's default), or relu_clipped's "
          "(negative_slope, max_value or None, threshold).");
  ops.def("activation_grad", &activation_grad, py::arg("dy"), py::arg("x"), py::arg("name"),
          py::arg("param") = py::none(),
          "Gradient of the activation: dy * f'(x) (softmax, log_softmax: the Jacobian-vector "
          "product over the last axis). x is the activation's input.");
}

}  // namespace fastnn::bindings
