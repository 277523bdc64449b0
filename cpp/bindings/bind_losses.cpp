// fastnn.ops.loss: a Keras loss and its gradient w.r.t. y_pred on NumPy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>

#include "bindings/array_utils.h"
#include "bindings/loss_config.h"
#include "ops/losses.h"

namespace py = pybind11;

namespace fastnn::bindings {

namespace {

using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

py::tuple loss(const py::handle& y_true_obj, const py::handle& y_pred_obj,
               const py::handle& name_obj, const py::handle& from_logits_obj,
               const py::handle& delta_obj, const py::handle& sw_obj,
               const py::handle& label_smoothing_obj, const py::handle& alpha_obj,
               const py::handle& gamma_obj, const py::handle& balancing_obj) {
  const std::string name       = as_name(name_obj, "loss: name");
  const bool from_logits       = as_flag(from_logits_obj, "loss: from_logits");
  const double delta           = as_double(delta_obj, "loss: delta");
  const double label_smoothing = as_double(label_smoothing_obj, "loss: label_smoothing");
  ops::LossConfig config;
  try {
    config.kind = ops::loss_from_name(name);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  config.from_logits = from_logits;
  if (!(delta > 0.0)) throw py::value_error("delta must be > 0, got " + std::to_string(delta));
  config.delta           = static_cast<float>(delta);
  config.label_smoothing = static_cast<float>(label_smoothing);
  set_focal_alpha(config, alpha_obj);
  config.gamma                 = static_cast<float>(as_double(gamma_obj, "loss: gamma"));
  config.apply_class_balancing = as_flag(balancing_obj, "loss: apply_class_balancing");
  try {
    ops::check_loss_config(config);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }

  FloatArray pred = as_float32_c(y_pred_obj, "y_pred");
  if (pred.ndim() != 2)
    throw py::value_error("y_pred must be 2-D (samples, outputs), got shape " + shape_string(pred));
  const int64_t rows = pred.shape(0), cols = pred.shape(1);
  if (cols == 0) throw py::value_error("y_pred must have at least one column");
  const bool sparse = config.kind == ops::LossKind::sparse_categorical_crossentropy;

  FloatArray target;
  IntArray labels;
  if (sparse) {
    py::array raw = as_numeric_array(y_true_obj, "y_true");
    if (!(raw.ndim() == 1 || (raw.ndim() == 2 && raw.shape(1) == 1)) || raw.shape(0) != rows)
      throw py::value_error(
          "sparse_categorical_crossentropy: y_true must hold one class id per "
          "row, shape (" +
          std::to_string(rows) + ",), got " + shape_string(raw));
    // checked as given (in double), not after rounding to float32: 1 - 1e-9
    // is no class id, and 2^24 + 1 stays 2^24 + 1
    auto ids        = py::array_t<double, py::array::c_style | py::array::forcecast>(raw);
    const double* v = ids.data();
    for (int64_t r = 0; r < rows; ++r)
      if (!(v[r] >= 0.0 && v[r] < static_cast<double>(cols)) || v[r] != std::floor(v[r]))
        throw py::value_error("sparse_categorical_crossentropy: label " + label_text(v[r]) +
                              " at row " + std::to_string(r) + " is not a class id in [0, " +
                              std::to_string(cols) + ")");
    labels = IntArray(ids);
  } else {
    target = as_float32_c(y_true_obj, "y_true");
    if (target.ndim() != 2 || target.shape(0) != rows || target.shape(1) != cols)
      throw py::value_error(std::string(ops::loss_name(config.kind)) +
                            ": y_true must have the shape of y_pred " + shape_string(pred) +
                            ", got " + shape_string(target));
  }
  FloatArray sw;  // default-constructed array_t is an empty array, not null
  const bool weighted = !sw_obj.is_none();
  if (weighted) {
    sw = as_float32_c(sw_obj, "sample_weight");
    // (rows,) or (rows, 1), as models take it
    if (sw.ndim() < 1 || sw.ndim() > 2 || sw.shape(0) != rows ||
        (sw.ndim() == 2 && sw.shape(1) != 1))
      throw py::value_error("sample_weight must have shape (" + std::to_string(rows) + ",) or (" +
                            std::to_string(rows) + ", 1), got " + shape_string(sw));
  }
  FloatArray grad(
      std::vector<py::ssize_t>{static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
  const float* pp   = pred.data();
  const float* tp   = sparse ? nullptr : target.data();
  const int32_t* lp = sparse ? labels.data() : nullptr;
  const float* wp   = weighted ? sw.data() : nullptr;
  float* gp         = grad.mutable_data();
  double value      = 0.0;
  {
    py::gil_scoped_release release;
    value = ops::loss_forward_backward(config, pp, tp, lp, wp, rows, cols, gp);
  }
  return py::make_tuple(value, std::move(grad));
}

}  // namespace

void set_focal_alpha(ops::LossConfig& config, const py::handle& alpha) {
  const bool listed = py::isinstance<py::sequence>(alpha) || py::isinstance<py::array>(alpha);
  if (!listed || py::array(as_numeric_array(alpha, "loss: alpha")).ndim() == 0) {
    config.alpha = static_cast<float>(as_double(alpha, "loss: alpha"));
    return;
  }
  FloatArray values = as_float32_c(alpha, "loss: alpha");
  if (values.ndim() != 1 || values.size() == 0)
    throw py::value_error(
        "loss: alpha must be a number or a list of one number per class, got shape " +
        shape_string(values));
  config.class_alpha.assign(values.data(), values.data() + values.size());
}

void bind_losses(py::module_& ops) {
  ops.def("loss", &loss, py::arg("y_true"), py::arg("y_pred"), py::arg("name"),
          py::arg("from_logits") = false, py::arg("delta") = 1.0,
          py::arg("sample_weight") = py::none(), py::arg("label_smoothing") = 0.0,
          py::arg("alpha") = 0.25, py::arg("gamma") = 2.0, py::arg("apply_class_balancing") = false,
          "(loss, d loss / d y_pred) of a Keras loss with sum_over_batch_size reduction "
          "(alpha, gamma, apply_class_balancing: the focal cross-entropies'; alpha may be a "
          "list of one weight per class for categorical_focal_crossentropy). "
          "y_pred is (samples, outputs); y_true has its shape, or holds class ids for "
          "sparse_categorical_crossentropy.");
}

}  // namespace fastnn::bindings
