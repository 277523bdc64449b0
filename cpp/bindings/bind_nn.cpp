// fastnn._core.nn: the Network engine and initializers. Validates every array
// (shapes, lengths, label range, NaN/Inf) BEFORE touching the network, so a
// rejected call changes no state; converts to float32 / int32 C-contiguous
// (no copy when the caller already converted); releases the GIL around the
// engine.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "bindings/array_utils.h"
#include "bindings/loss_config.h"
#include "nn/dropout.h"
#include "nn/initializers.h"
#include "nn/network.h"
#include "nn/noise.h"
#include "nn/optimizer_updater.h"
#include "ops/activation_kind.h"
#include "ops/elementwise.h"
#include "ops/losses.h"
#include "optim/optimizer.h"

namespace py = pybind11;

namespace fastnn::bindings {

namespace {

using IntArray   = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using Int64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using nn::Network;

template <typename F>
auto translating(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

// A dense constraint: None, or {"kind", "min_value", "max_value", "rate",
// "rows", "cols"} (fastnn.constraints' engine specs).
nn::Constraint constraint_from_object(const py::handle& obj) {
  nn::Constraint c;
  if (obj.is_none()) return c;
  const py::dict d       = py::reinterpret_borrow<py::dict>(obj);
  const std::string kind = py::str(d["kind"]);
  if (kind == "max_norm")
    c.kind = nn::ConstraintKind::max_norm;
  else if (kind == "min_max_norm")
    c.kind = nn::ConstraintKind::min_max_norm;
  else if (kind == "unit_norm")
    c.kind = nn::ConstraintKind::unit_norm;
  else if (kind == "non_neg")
    c.kind = nn::ConstraintKind::non_neg;
  else
    throw py::value_error("unknown constraint kind '" + kind +
                          "'; expected max_norm, min_max_norm, unit_norm, non_neg");
  if (d.contains("min_value")) c.min_value = d["min_value"].cast<float>();
  if (d.contains("max_value")) c.max_value = d["max_value"].cast<float>();
  if (d.contains("rate")) c.rate = d["rate"].cast<float>();
  if (d.contains("rows")) c.over_rows = d["rows"].cast<bool>();
  if (d.contains("cols")) c.over_cols = d["cols"].cast<bool>();
  return c;
}

nn::LayerSpec layer_from_dict(const py::dict& d) {
  nn::LayerSpec s;
  const std::string type = py::str(d["type"]);
  if (type == "dense") {
    s.type     = nn::LayerType::dense;
    s.units    = d["units"].cast<int64_t>();
    s.use_bias = d.contains("use_bias") ? d["use_bias"].cast<bool>() : true;
    for (const auto& [key, field] :
         {std::make_pair("kernel_l1", &s.kernel_l1), std::make_pair("kernel_l2", &s.kernel_l2),
          std::make_pair("bias_l1", &s.bias_l1), std::make_pair("bias_l2", &s.bias_l2),
          std::make_pair("activity_l1", &s.activity_l1),
          std::make_pair("activity_l2", &s.activity_l2)})
      if (d.contains(key)) *field = d[key].cast<float>();
    if (d.contains("kernel_constraint"))
      s.kernel_constraint = constraint_from_object(d["kernel_constraint"]);
    if (d.contains("bias_constraint"))
      s.bias_constraint = constraint_from_object(d["bias_constraint"]);
  } else if (type == "activation") {
    s.type = nn::LayerType::activation;
  } else if (type == "activity_regularization") {
    s.type = nn::LayerType::activity_regularization;
    if (d.contains("activity_l1")) s.activity_l1 = d["activity_l1"].cast<float>();
    if (d.contains("activity_l2")) s.activity_l2 = d["activity_l2"].cast<float>();
  } else if (type == "dropout") {
    s.type = nn::LayerType::dropout;
    s.rate = d["rate"].cast<float>();
    s.seed = d.contains("seed") ? d["seed"].cast<uint64_t>() : 0;
  } else if (type == "gaussian_noise") {
    s.type   = nn::LayerType::gaussian_noise;
    s.stddev = d["stddev"].cast<float>();
    s.seed   = d.contains("seed") ? d["seed"].cast<uint64_t>() : 0;
  } else if (type == "gaussian_dropout" || type == "alpha_dropout") {
    s.type =
        type == "alpha_dropout" ? nn::LayerType::alpha_dropout : nn::LayerType::gaussian_dropout;
    s.rate        = d["rate"].cast<float>();
    s.rate_double = d["rate"].cast<double>();
    s.seed        = d.contains("seed") ? d["seed"].cast<uint64_t>() : 0;
  } else if (type == "batch_norm") {
    s.type = nn::LayerType::batch_norm;
    if (d.contains("momentum")) s.momentum = d["momentum"].cast<double>();
    if (d.contains("epsilon")) s.epsilon = d["epsilon"].cast<double>();
    if (d.contains("center")) s.center = d["center"].cast<bool>();
    if (d.contains("scale")) s.scale = d["scale"].cast<bool>();
  } else if (type == "unit_norm") {
    s.type = nn::LayerType::unit_norm;
  } else if (type == "prelu") {
    s.type = nn::LayerType::prelu;
  } else if (type == "layer_norm") {
    s.type = nn::LayerType::layer_norm;
    if (d.contains("epsilon")) s.epsilon = d["epsilon"].cast<double>();
    if (d.contains("center")) s.center = d["center"].cast<bool>();
    if (d.contains("scale")) s.scale = d["scale"].cast<bool>();
  } else {
    throw py::value_error(
        "unknown layer type '" + type +
        "'; expected dense, activation, activity_regularization, prelu, dropout, "
        "batch_norm, layer_norm, unit_norm, gaussian_noise, gaussian_dropout, alpha_dropout");
  }
  if (d.contains("activation"))
    s.act = translating([&] { return ops::activation_from_name(py::str(d["activation"])); });
  if (d.contains("activation_param") && !d["activation_param"].is_none())
    s.act_param = d["activation_param"].cast<float>();  // else the kind's Keras default
  // relu_clipped: max_value (None: no cap) and threshold
  if (d.contains("activation_max_value") && !d["activation_max_value"].is_none())
    s.act_max_value = d["activation_max_value"].cast<float>();
  if (d.contains("activation_threshold")) s.act_threshold = d["activation_threshold"].cast<float>();
  return s;
}

// A metric given as its canonical name or {"kind": name, "k": int, "threshold": float}.
ops::MetricConfig metric_from_object(const py::handle& m) {
  ops::MetricConfig c;
  if (py::isinstance<py::str>(m)) {
    c.kind = translating([&] { return ops::metric_from_name(m.cast<std::string>()); });
    return c;
  }
  if (!py::isinstance<py::dict>(m))
    throw py::type_error("a metric must be a name or a dict with 'kind', got " +
                         std::string(py::str(py::repr(m))));
  const py::dict d = m.cast<py::dict>();
  for (const auto& item : d) {
    const std::string key = py::str(item.first);
    if (key != "kind" && key != "k" && key != "threshold" && key != "weighted" &&
        key != "from_logits" && key != "label_smoothing" && key != "part" && key != "at_max" &&
        key != "clip_to_unit")
      throw py::value_error("unknown metric parameter '" + key +
                            "'; expected kind, k, threshold, weighted, from_logits, "
                            "label_smoothing, part, at_max, clip_to_unit");
  }
  if (!d.contains("kind")) throw py::value_error("a metric dict needs 'kind'");
  c.kind = translating([&] { return ops::metric_from_name(py::str(d["kind"])); });
  if (d.contains("k")) {
    try {
      c.k = d["k"].cast<int64_t>();
    } catch (const py::cast_error&) {  // 2**70: no bare "Unable to cast" RuntimeError
      throw py::value_error("metric k must be an integer that fits in 64 bits, got " +
                            std::string(py::str(py::repr(d["k"]))));
    }
    if (c.k < 1) throw py::value_error("metric k must be >= 1, got " + std::to_string(c.k));
  }
  if (d.contains("threshold")) {
    const double t = as_double(d["threshold"], "metric threshold");
    if (std::isnan(t)) throw py::value_error("metric threshold must not be NaN");
    c.threshold = static_cast<float>(t);
  }
  if (d.contains("weighted")) c.weighted = d["weighted"].cast<bool>();
  if (d.contains("at_max")) c.at_max = d["at_max"].cast<bool>();
  if (d.contains("clip_to_unit")) c.clip_to_unit = d["clip_to_unit"].cast<bool>();
  if (d.contains("part")) {
    try {
      c.part = d["part"].cast<int64_t>();
    } catch (const py::cast_error&) {
      throw py::value_error("metric part must be an integer, got " +
                            std::string(py::str(py::repr(d["part"]))));
    }
  }
  if (d.contains("from_logits")) c.from_logits = d["from_logits"].cast<bool>();
  if (d.contains("label_smoothing")) {
    const double ls = as_double(d["label_smoothing"], "metric label_smoothing");
    if (!(ls >= 0.0 && ls <= 1.0))
      throw py::value_error("metric label_smoothing must be in [0, 1]");
    c.label_smoothing = static_cast<float>(ls);
  }
  return c;
}

// x as a (rows, input_dim) float32 C array with only finite values
// (ops::all_finite; the culprit is located only on failure).
FloatArray checked_x(const Network& net, const py::handle& x_obj, bool check_finite) {
  // A C-contiguous float32 ndarray is used as is: no conversion call (this
  // is most of the binding's cost for a one-sample predict).
  FloatArray x = FloatArray::check_(x_obj) ? py::reinterpret_borrow<FloatArray>(x_obj)
                                           : as_float32_c(x_obj, "x");
  if (x.ndim() != 2 || x.shape(1) != net.input_dim()) {
    std::string msg = "x has shape " + shape_string(x) + " but the network takes (n, " +
                      std::to_string(net.input_dim()) + ")";
    if (x.ndim() > 2) {
      int64_t prod = 1;
      for (py::ssize_t i = 1; i < x.ndim(); ++i) prod *= x.shape(i);
      msg += prod == net.input_dim()
                 ? ": add a Flatten layer or reshape to (n, " + std::to_string(prod) + ")"
                 : "";
    }
    throw py::value_error(msg);
  }
  if (check_finite && !ops::all_finite(x.data(), x.size())) {
    const float* p  = x.data();
    const int64_t n = x.size();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i]))
        throw py::value_error("x contains " + std::string(std::isnan(p[i]) ? "NaN" : "Inf") +
                              " at row " + std::to_string(i / net.input_dim()) + ", column " +
                              std::to_string(i % net.input_dim()));
    throw std::logic_error("fastnn internal error: the finiteness check refused finite data");
  }
  return x;
}

struct Targets {
  FloatArray target;
  IntArray labels;
  bool sparse = false;
};

Targets checked_y(const Network& net, const py::handle& y_obj, int64_t rows) {
  // a focal loss's per-class alpha against this network's outputs, before
  // anything runs (Keras finds the mismatch when it computes the loss)
  ops::check_class_alpha(net.loss(), net.output_dim());
  Targets t;
  const int64_t classes = net.output_dim();
  t.sparse              = net.loss().kind == ops::LossKind::sparse_categorical_crossentropy;
  py::array raw         = as_numeric_array(y_obj, "y");
  if (raw.ndim() == 0 || raw.shape(0) != rows)
    throw py::value_error("x and y must have the same number of samples, got x with " +
                          std::to_string(rows) + " and y with shape " + shape_string(raw));
  if (t.sparse) {
    if (!(raw.ndim() == 1 || (raw.ndim() == 2 && raw.shape(1) == 1)))
      throw py::value_error("sparse_categorical_crossentropy takes integer class ids of shape (" +
                            std::to_string(rows) + ",), got y with shape " + shape_string(raw) +
                            (raw.ndim() == 2 && raw.shape(1) == classes
                                 ? " (one-hot labels: use categorical_crossentropy)"
                                 : ""));
    auto v          = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(raw);
    const double* p = v.data();
    for (int64_t i = 0; i < rows; ++i)
      if (!(p[i] >= 0.0 && p[i] < static_cast<double>(classes)) || p[i] != std::floor(p[i]))
        throw py::value_error("label " + label_text(p[i]) + " at index " + std::to_string(i) +
                              " is not a class id in [0, " + std::to_string(classes) +
                              ") for a network with " + std::to_string(classes) + " outputs" +
                              (classes == 1 ? " (two classes with one sigmoid output: use "
                                              "binary_crossentropy)"
                                            : ""));
    t.labels = IntArray::ensure(v);
  } else {
    FloatArray f = as_float32_c(raw, "y");
    const bool matches =
        (f.ndim() == 2 && f.shape(1) == classes) || (f.ndim() == 1 && classes == 1);
    if (!matches) {
      // The hint only where y holds class ids of this network (a regression
      // target of the wrong shape gets none).
      const float* q = f.data();
      bool class_ids = f.ndim() == 1;
      for (int64_t i = 0; class_ids && i < f.size(); ++i)
        class_ids = q[i] >= 0.0f && q[i] < static_cast<float>(classes) && q[i] == std::floor(q[i]);
      throw py::value_error(
          std::string(ops::loss_name(net.loss().kind)) + " needs y of shape (" +
          std::to_string(rows) + ", " + std::to_string(classes) +
          ") to match the network output, got " + shape_string(f) +
          (class_ids ? " (integer labels: use sparse_categorical_crossentropy)" : ""));
    }
    const float* p = f.data();
    if (!ops::all_finite(p, f.size()))
      for (int64_t i = 0; i < f.size(); ++i)
        if (!std::isfinite(p[i]))
          throw py::value_error("y contains NaN or Inf at flat index " + std::to_string(i));
    // Cross-entropy of a probability against a "label" beyond [0, 1] is not a
    // loss (unbounded below): refused, as Keras's torch backend refuses it. The
    // label is checked as smoothed (Keras checks the smoothed one); from
    // logits, torch's binary_cross_entropy_with_logits takes any target.
    const ops::LossConfig& loss = net.loss();
    if (loss.kind == ops::LossKind::binary_crossentropy && !loss.from_logits) {
      const float keep = 1.0f - loss.label_smoothing, half = 0.5f * loss.label_smoothing;
      for (int64_t i = 0; i < f.size(); ++i) {
        const float smoothed = p[i] * keep + half;
        if (!(smoothed >= 0.0f && smoothed <= 1.0f))
          throw py::value_error(
              "binary_crossentropy takes labels in [0, 1], got label " + label_text(p[i]) +
              " at row " + std::to_string(i / classes) +
              (classes > 1 ? ", column " + std::to_string(i % classes) : "") +
              (loss.label_smoothing > 0.0f ? " (after label smoothing)" : "") +
              " (labels of several classes: use sparse_categorical_crossentropy with a softmax "
              "output of one unit per class)");
      }
    }
    t.target = f;
  }
  return t;
}

FloatArray checked_weights(const py::handle& sw_obj, int64_t rows) {
  FloatArray sw = as_float32_c(sw_obj, "sample_weight");
  if (sw.ndim() != 1 || sw.shape(0) != rows)
    throw py::value_error("sample_weight must have shape (" + std::to_string(rows) + ",), got " +
                          shape_string(sw));
  if (!ops::all_finite(sw.data(), rows))
    for (int64_t i = 0; i < rows; ++i)
      if (!std::isfinite(sw.data()[i]))
        throw py::value_error("sample_weight contains NaN or Inf at index " + std::to_string(i));
  return sw;
}

py::dict result_dict(const nn::RunResult& r, int64_t output_dim = -1) {
  py::dict d;
  if (output_dim >= 0) {  // keep_outputs: the last batch's outputs, (rows, output_dim)
    FloatArray outputs(std::vector<py::ssize_t>{static_cast<py::ssize_t>(r.output_rows),
                                                static_cast<py::ssize_t>(output_dim)});
    std::copy(r.outputs.begin(), r.outputs.end(), outputs.mutable_data());
    d["outputs"] = outputs;
  }
  d["loss_sum"]    = r.loss_sum;
  d["samples"]     = r.samples;
  d["weight_sum"]  = r.weight_sum;
  d["metric_sums"] = r.metric_sums;
  d["steps"]       = r.steps;
  d["loss"]        = r.samples > 0 ? r.loss_sum / r.samples : 0.0;
  return d;
}

// Arrays of one call, validated; keeps the converted arrays alive.
struct CallData {
  FloatArray x, sw;
  Targets y;
  bool weighted   = false;
  int64_t outputs = 0;  // the network's output width when the data was validated
  nn::Batch batch() const {
    nn::Batch b;
    b.x             = x.data();
    b.rows          = x.shape(0);
    b.target        = y.sparse ? nullptr : y.target.data();
    b.labels        = y.sparse ? y.labels.data() : nullptr;
    b.sample_weight = weighted ? sw.data() : nullptr;
    return b;
  }
};

// A read-only NumPy view of `info` that keeps `owner` alive.
py::array read_only_view(const py::buffer_info& info, py::handle owner) {
  py::array view(info, owner);
  view.attr("setflags")(py::arg("write") = false);
  return view;
}

CallData checked_call(const Network& net, const py::handle& x, const py::handle& y,
                      const py::handle& sw, bool check_finite, bool allow_empty) {
  CallData c;
  c.x                = checked_x(net, x, check_finite);
  c.outputs          = net.output_dim();
  const int64_t rows = c.x.shape(0);
  if (rows == 0 && !allow_empty) throw py::value_error("empty batch: x has 0 samples");
  c.y        = checked_y(net, y, rows);
  c.weighted = !sw.is_none();
  if (c.weighted) c.sw = checked_weights(sw, rows);
  return c;
}

// `data` was validated against a network of the same input width, output
// width and label kind as `n` (a model rebuilt or recompiled since, e.g. by a
// callback, would read its targets with another width: out of bounds).
void check_prepared_for(const Network& n, const CallData& data) {
  const bool sparse = n.loss().kind == ops::LossKind::sparse_categorical_crossentropy;
  if (data.x.shape(1) == n.input_dim() && data.outputs == n.output_dim() && data.y.sparse == sparse)
    return;
  throw py::value_error(
      "the data was validated for a network with " + std::to_string(data.x.shape(1)) + " inputs, " +
      std::to_string(data.outputs) + " outputs and " +
      (data.y.sparse ? "integer labels" : "target arrays") + "; this network has " +
      std::to_string(n.input_dim()) + " inputs, " + std::to_string(n.output_dim()) +
      " outputs and loss " + ops::loss_name(n.loss().kind) +
      " (the model changed since: a layer added or removed, or compiled with another loss)");
}

py::array view(py::object owner, float* data, std::vector<py::ssize_t> shape) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t s = sizeof(float);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return py::array(py::dtype::of<float>(), shape, strides, data, owner);
}

std::vector<py::ssize_t> tensor_shape(const nn::TensorInfo& t) {
  if (t.cols) return {t.rows, t.cols};
  return {t.rows};
}

}  // namespace

void bind_nn(py::module_& m) {
  py::module_ nnm = m.def_submodule("nn", "The network engine (private: use fastnn.models)");

  nnm.def(
      "initialize",
      [](const std::string& name, std::vector<int64_t> shape, int64_t fan_in, int64_t fan_out,
         uint64_t seed, double a, double b) {
        const nn::InitKind kind = translating([&] { return nn::init_from_name(name); });
        std::vector<py::ssize_t> pshape(shape.begin(), shape.end());
        for (auto d : pshape)
          if (d < 0) throw py::value_error("shape dimensions must be >= 0");
        FloatArray out(pshape);
        float* p        = out.mutable_data();
        const int64_t n = out.size();
        {
          py::gil_scoped_release release;
          nn::initialize(kind, p, n, fan_in, fan_out, seed, a, b);
        }
        return out;
      },
      py::arg("name"), py::arg("shape"), py::arg("fan_in"), py::arg("fan_out"), py::arg("seed"),
      py::arg("a") = 0.0, py::arg("b") = 0.0,
      "Values of a keras.initializers kind (see cpp/nn/initializers.h).");

  nnm.def(
      "_dropout_forward",
      [](const FloatArray& x, uint64_t key, float rate, int64_t begin) {
        if (x.ndim() != 1) throw py::value_error("x must be 1-D");
        const int64_t n = x.shape(0);
        if (begin < 0 || begin > n) throw py::value_error("need 0 <= begin <= len(x)");
        if (!(rate >= 0.0f && rate < 1.0f)) throw py::value_error("rate must be in [0, 1)");
        FloatArray y(n), mask(n);
        std::fill(y.mutable_data(), y.mutable_data() + n, 0.0f);
        std::fill(mask.mutable_data(), mask.mutable_data() + n, 0.0f);
        nn::dropout_forward(mask.mutable_data(), y.mutable_data(), x.data(), begin, n, key, rate,
                            1.0f / (1.0f - rate));
        return py::make_tuple(y, mask);
      },
      py::arg("x"), py::arg("key"), py::arg("rate"), py::arg("begin") = 0,
      "Testing hook: the Dropout layer's kernel over elements [begin, len(x)) "
      "(see cpp/nn/dropout.h); returns (y, mask), zeros before begin.");

  nnm.def(
      "_noise_forward",
      [](const std::string& kind, const FloatArray& x, uint64_t key, double param, int64_t begin) {
        if (x.ndim() != 1) throw py::value_error("x must be 1-D");
        const int64_t n = x.shape(0);
        if (begin < 0 || begin > n) throw py::value_error("need 0 <= begin <= len(x)");
        FloatArray y(n), noise(n);
        std::fill(y.mutable_data(), y.mutable_data() + n, 0.0f);
        std::fill(noise.mutable_data(), noise.mutable_data() + n, 0.0f);
        float* yp          = y.mutable_data();
        float* np_         = noise.mutable_data();
        const float* xp    = x.data();
        const bool is_rate = kind != "gaussian_noise";
        if (is_rate && !(param >= 0.0 && static_cast<float>(param) < 1.0f))
          throw py::value_error("rate must be in [0, 1)");
        if (kind == "gaussian_noise") {
          nn::gaussian_noise_forward(np_, yp, xp, begin, n, key, static_cast<float>(param));
        } else if (kind == "gaussian_dropout") {
          nn::gaussian_dropout_forward(np_, yp, xp, begin, n, key,
                                       nn::gaussian_dropout_stddev(param));
        } else if (kind == "alpha_dropout") {
          nn::alpha_dropout_forward(np_, yp, xp, begin, n, key, static_cast<float>(param),
                                    nn::alpha_dropout_coeffs(param));
        } else {
          throw py::value_error("kind must be gaussian_noise, gaussian_dropout or alpha_dropout");
        }
        return py::make_tuple(y, noise);
      },
      py::arg("kind"), py::arg("x"), py::arg("key"), py::arg("param"), py::arg("begin") = 0,
      "Testing hook: a noise layer's kernel (cpp/nn/noise.h) over elements [begin, len(x)); "
      "param is the stddev (gaussian_noise) or the rate; returns (y, noise), zeros before begin.");

  py::class_<CallData, std::shared_ptr<CallData>>(
      nnm, "Data", py::dynamic_attr(), "Arrays validated and converted once by Network.prepare.")
      .def_property_readonly("rows", [](const CallData& c) { return c.x.shape(0); })
      .def_property_readonly(
          "y_true",
          [](py::object self) -> py::array {
            const CallData& c = self.cast<const CallData&>();
            return read_only_view(c.y.sparse ? c.y.labels.request() : c.y.target.request(), self);
          },
          "The targets as the engine holds them (read-only view): int32 class ids (n,) for "
          "sparse categorical cross-entropy, else float32 (n, outputs).")
      .def_property_readonly(
          "sample_weight",
          [](py::object self) -> py::object {
            const CallData& c = self.cast<const CallData&>();
            if (!c.weighted) return py::none();
            return read_only_view(c.sw.request(), self);
          },
          "The sample weights (class weights merged in), float32 (n,), or None.");

  py::class_<Network>(nnm, "Network")
      .def(py::init([](int64_t input_dim, const py::list& layers) {
             std::vector<nn::LayerSpec> specs;
             for (const auto& l : layers) {
               try {
                 specs.push_back(layer_from_dict(l.cast<py::dict>()));
               } catch (const py::cast_error&) {  // e.g. units beyond int64: no bare RuntimeError
                 throw py::value_error("layer " + std::to_string(specs.size()) + " " +
                                       std::string(py::str(py::repr(l))) +
                                       ": units and seed must be integers that fit in 64 bits, "
                                       "rate and parameters numbers");
               }
             }
             return translating([&] { return std::make_unique<Network>(input_dim, specs); });
           }),
           py::arg("input_dim"), py::arg("layers"))
      .def_property_readonly("input_dim", &Network::input_dim)
      .def_property_readonly("output_dim", &Network::output_dim)
      .def_property_readonly("num_params", &Network::num_params)
      .def_property_readonly("buffer_size", &Network::buffer_size)
      .def_property_readonly("fused_output", &Network::fused_output)
      .def_property("iterations", &Network::iterations, &Network::set_iterations)
      .def_property_readonly("_input_kept", &Network::input_kept,
                             "Private: the fraction of steps the first layer's last compacted "
                             "weight gradient kept (1: it ran dense).")
      .def_property_readonly(
          "regularization_penalty",
          [](Network& n) {
            py::gil_scoped_release release;
            return n.regularization_penalty();
          },
          "sum over regularized tensors of l1 * sum|w| + l2 * sum w^2 (0.0 without "
          "regularizers); train_batch and evaluate add it to each batch's loss.")
      .def_property_readonly("last_activity_losses", &Network::last_activity_losses,
                             "per layer, its activity penalty in the last forward pass divided "
                             "by that pass's rows (Keras's model.losses entry); [] before the "
                             "first forward pass.")
      .def_property_readonly(
          "params",
          [](py::object self) {
            Network& n = self.cast<Network&>();
            return view(self, n.params(), {n.buffer_size()});
          },
          "The flat parameter buffer (a view; padding between tensors stays 0).")
      .def_property_readonly(
          "grads",
          [](py::object self) {
            Network& n = self.cast<Network&>();
            return view(self, n.grads(), {n.buffer_size()});
          },
          "The flat gradient buffer (a view), same layout as params.")
      .def(
          "tensors",
          [](const Network& n) {
            py::list out;
            for (const auto& t : n.tensors()) {
              py::dict d;
              d["offset"]  = t.offset;
              d["shape"]   = py::tuple(py::cast(tensor_shape(t)));
              d["layer"]   = t.layer;
              d["is_bias"] = t.is_bias;
              out.append(d);
            }
            return out;
          },
          "Each parameter tensor: offset into params, shape, layer index, is_bias.")
      .def(
          "param_views",
          [](py::object self) {
            Network& n = self.cast<Network&>();
            py::list out;
            for (const auto& t : n.tensors())
              out.append(view(self, n.params() + t.offset, tensor_shape(t)));
            return out;
          },
          "NumPy views into params, one per tensor (kernel (in, units), bias (units,)).")
      .def(
          "state_views",
          [](py::object self) {
            Network& n = self.cast<Network&>();
            py::list out;
            for (const auto& t : n.stat_tensors())
              out.append(view(self, n.stats() + t.offset, {static_cast<py::ssize_t>(t.size)}));
            return out;
          },
          "NumPy views into the state buffer: each batch_norm layer's moving_mean, then "
          "moving_variance, (features,), in layer order. No optimizer sees them.")
      .def(
          "state_tensors",
          [](const Network& n) {
            py::list out;
            for (const auto& t : n.stat_tensors()) {
              py::dict d;
              d["offset"]      = t.offset;
              d["shape"]       = py::make_tuple(t.size);
              d["layer"]       = t.layer;
              d["is_variance"] = t.is_variance;
              out.append(d);
            }
            return out;
          },
          "Each moving statistic: offset into the state buffer, shape, layer index, "
          "is_variance.")
      .def(
          "grad_views",
          [](py::object self) {
            Network& n = self.cast<Network&>();
            py::list out;
            for (const auto& t : n.tensors())
              out.append(view(self, n.grads() + t.offset, tensor_shape(t)));
            return out;
          },
          "NumPy views into grads, one per tensor.")
      .def(
          "set_loss",
          [](Network& n, const std::string& name, bool from_logits, double delta,
             const py::list& metrics, double label_smoothing, double loss_weight,
             const py::object& alpha, double gamma, bool apply_class_balancing,
             const std::string& reduction) {
            ops::LossConfig c;
            c.kind        = translating([&] { return ops::loss_from_name(name); });
            c.from_logits = from_logits;
            if (!(delta > 0.0)) throw py::value_error("delta must be > 0");
            c.delta           = static_cast<float>(delta);
            c.label_smoothing = static_cast<float>(label_smoothing);
            set_focal_alpha(c, alpha);
            c.gamma                 = static_cast<float>(gamma);
            c.apply_class_balancing = apply_class_balancing;
            const nn::LossReduction r =
                translating([&] { return nn::loss_reduction_from_name(reduction); });
            std::vector<ops::MetricConfig> ms;
            for (const auto& m : metrics) ms.push_back(metric_from_object(m));
            translating([&] {
              n.set_loss(c, ms, loss_weight, r);
              return 0;
            });
          },
          py::arg("name"), py::arg("from_logits") = false, py::arg("delta") = 1.0,
          py::arg("metrics") = py::list(), py::arg("label_smoothing") = 0.0,
          py::arg("loss_weight") = 1.0, py::arg("alpha") = py::float_(0.25), py::arg("gamma") = 2.0,
          py::arg("apply_class_balancing") = false, py::arg("reduction") = "sum_over_batch_size",
          "Loss (a Keras name) and the metrics computed alongside it: each a canonical "
          "metric name or a dict {'kind': name, 'k': int, 'threshold': float, 'weighted': bool} "
          "(weighted: averaged with the sample weights; else every sample counts once; "
          "'from_logits', 'label_smoothing' for the cross-entropies; 'part' (which sum of a vector "
          "metric such as r2_sums) and 'at_max' for the vector metrics); loss_weight scales the "
          "loss and its gradient (Keras's loss_weights); alpha, gamma, apply_class_balancing: the "
          "focal cross-entropies' (alpha: a number, or categorical_focal_crossentropy's list of "
          "one "
          "weight per class); reduction: Keras's 'sum_over_batch_size' (or 'mean'), 'sum' "
          "or 'mean_with_sample_weight' of each batch's weighted losses.")
      .def(
          "predict",
          [](Network& n, const py::handle& x_obj, int64_t batch_size, bool check_finite,
             bool training) {
            FloatArray x       = checked_x(n, x_obj, check_finite);
            const int64_t rows = x.shape(0);
            FloatArray out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(rows),
                                                    static_cast<py::ssize_t>(n.output_dim())});
            const float* xp = x.data();
            float* op       = out.mutable_data();
            {
              py::gil_scoped_release release;
              n.predict(xp, rows, op, batch_size, training);
            }
            return out;
          },
          py::arg("x"), py::arg("batch_size") = 32, py::arg("check_finite") = true,
          py::arg("training") = false,
          "network(x), batch_size rows at a time; training=True: Keras's model(x, "
          "training=True), all rows in one training-mode pass (new dropout and noise draws, "
          "BatchNormalization on the rows' statistics, its moving ones updated).")
      .def(
          "predict_outputs",
          [](Network& n, const py::handle& x_obj, const std::vector<int64_t>& layers,
             int64_t batch_size, bool check_finite, bool training) {
            FloatArray x       = checked_x(n, x_obj, check_finite);
            const int64_t rows = x.shape(0);
            py::list result;
            std::vector<float*> outs;
            for (const int64_t layer : layers) {
              const int64_t width = translating([&] { return n.width(layer); });
              FloatArray out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(rows),
                                                      static_cast<py::ssize_t>(width)});
              outs.push_back(out.mutable_data());
              result.append(out);
            }
            const float* xp = x.data();
            {
              py::gil_scoped_release release;
              n.predict_outputs(xp, rows, batch_size, layers, outs, training);
            }
            return result;
          },
          py::arg("x"), py::arg("layers"), py::arg("batch_size") = 32,
          py::arg("check_finite") = true, py::arg("training") = false,
          "predict, keeping the outputs of several layers of the same forward passes: one "
          "float32 (n, width) array per entry of `layers` (layer indices; -1: the input x).")
      .def(
          "train_batch",
          [](Network& n, const py::handle& x, const py::handle& y, const py::handle& sw,
             bool check_finite) {
            CallData c = checked_call(n, x, y, sw, check_finite, false);
            nn::RunResult r;
            {
              py::gil_scoped_release release;
              r = n.train_batch(c.batch());
            }
            return result_dict(r);
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(),
          py::arg("check_finite") = true,
          "Forward + loss + backward; gradients overwritten in grads; weights unchanged.")
      .def(
          "set_trainable",
          [](Network& n, const std::vector<bool>& trainable) {
            translating([&] {
              n.set_trainable(trainable);
              return 0;
            });
          },
          py::arg("trainable"),
          "Per layer, whether it trains (Keras's layer.trainable): a frozen layer gets no "
          "gradient and no regularization penalty.")
      .def(
          "sgd_step",
          [](Network& n, float lr) {
            py::gil_scoped_release release;
            n.sgd_step(lr);
          },
          py::arg("learning_rate"), "params -= learning_rate * grads; iterations += 1.")
      .def(
          "prepare",
          [](Network& n, const py::handle& x, const py::handle& y, const py::handle& sw) {
            return std::make_shared<CallData>(checked_call(n, x, y, sw, true, false));
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(),
          "Validates and converts x, y, sample_weight once (shapes, labels, NaN/Inf) for "
          "train_epoch / evaluate; raises ValueError/TypeError before anything changes.")
      .def(
          "train_epoch",
          [](Network& n, const CallData& data, const py::handle& order_obj, int64_t batch_size,
             int64_t step_begin, int64_t step_end, optim::Optimizer& optimizer,
             const py::handle& rates_obj, bool keep_outputs) {
            check_prepared_for(n, data);
            Int64Array order = Int64Array::ensure(as_numeric_array(order_obj, "order"));
            if (order.ndim() != 1) throw py::value_error("order must be 1-D");
            if (batch_size < 1)
              throw py::value_error("batch_size must be >= 1, got " + std::to_string(batch_size));
            if (step_begin < 0 || step_end < step_begin)
              throw py::value_error("need 0 <= step_begin <= step_end");
            if (optimizer.size() != n.buffer_size())
              throw py::value_error(
                  "the optimizer was built for " + std::to_string(optimizer.size()) +
                  " parameters, the network has " + std::to_string(n.buffer_size()));
            auto rates = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(
                as_numeric_array(rates_obj, "learning_rates"));
            if (rates.ndim() != 1 || rates.shape(0) < step_end - step_begin)
              throw py::value_error("learning_rates must hold one rate per step");
            // Steps past the samples in `order` do nothing: clamped to those, step *
            // batch_size cannot overflow (a wrapped product indexed outside `order`).
            const int64_t steps_in_order =
                order.size() / batch_size + (order.size() % batch_size != 0);
            step_begin = std::min(step_begin, steps_in_order);
            step_end   = std::min(step_end, steps_in_order);
            // Only the samples these steps read are checked: O(steps * batch).
            const int64_t rows   = data.x.shape(0);
            const int64_t first  = std::min<int64_t>(step_begin * batch_size, order.size());
            const int64_t last   = std::min<int64_t>(step_end * batch_size, order.size());
            const int64_t* index = order.data();
            for (int64_t i = first; i < last; ++i)
              if (index[i] < 0 || index[i] >= rows)
                throw py::value_error("order[" + std::to_string(i) +
                                      "] = " + std::to_string(index[i]) + " is outside [0, " +
                                      std::to_string(rows) + ")");
            nn::OptimizerUpdater updater(optimizer, rates.data(), rates.shape(0));
            nn::RunResult r;
            {
              py::gil_scoped_release release;
              r = n.train_epoch(data.batch(), index, order.size(), batch_size, step_begin, step_end,
                                updater, keep_outputs);
            }
            return result_dict(r, keep_outputs ? n.output_dim() : -1);
          },
          py::arg("data"), py::arg("order"), py::arg("batch_size"), py::arg("step_begin"),
          py::arg("step_end"), py::arg("optimizer"), py::arg("learning_rates"),
          py::arg("keep_outputs") = false,
          "Steps [step_begin, step_end) of an epoch over the samples in `order`: each is "
          "forward + loss + backward + one fused optimizer step with learning_rates[k]; "
          "returns the sums over those steps (and with keep_outputs, 'outputs': every "
          "step's training-mode outputs, one batch after the other, taken in the same call).")
      .def(
          "evaluate",
          [](Network& n, const CallData& data, int64_t batch_size, bool keep_outputs) {
            check_prepared_for(n, data);
            if (batch_size < 1)
              throw py::value_error("batch_size must be >= 1, got " + std::to_string(batch_size));
            nn::RunResult r;
            {
              py::gil_scoped_release release;
              r = n.evaluate(data.batch(), batch_size, keep_outputs);
            }
            return result_dict(r, keep_outputs ? n.output_dim() : -1);
          },
          py::arg("data"), py::arg("batch_size") = 32, py::arg("keep_outputs") = false,
          "Loss and metric sums in inference mode over all samples (with keep_outputs, "
          "'outputs': the last batch's).")
      .def(
          "evaluate_rows",
          [](Network& n, const CallData& data, int64_t begin, int64_t end, bool keep_outputs) {
            check_prepared_for(n, data);
            const int64_t rows = data.x.shape(0);
            if (begin < 0 || end < begin || end > rows)
              throw py::value_error("need 0 <= begin <= end <= rows");
            nn::Batch b = data.batch();
            b.x += begin * n.input_dim();
            if (b.target) b.target += begin * n.output_dim();
            if (b.labels) b.labels += begin;
            if (b.sample_weight) b.sample_weight += begin;
            b.rows = end - begin;
            nn::RunResult r;
            {
              py::gil_scoped_release release;
              r = n.evaluate(b, std::max<int64_t>(1, end - begin), keep_outputs);
            }
            return result_dict(r, keep_outputs ? n.output_dim() : -1);
          },
          py::arg("data"), py::arg("begin"), py::arg("end"), py::arg("keep_outputs") = false,
          "evaluate over rows [begin, end) of data, as one batch (with keep_outputs, "
          "'outputs': its outputs).");
}

}  // namespace fastnn::bindings
