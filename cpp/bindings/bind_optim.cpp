// Bindings of cpp/optim: the single-buffer NumPy updates (fastnn.ops.*_update)
// and the flat-buffer optimizer (fastnn._core.optim.Optimizer). Validation and
// conversion only; the math is in cpp/optim.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bindings/array_utils.h"
#include "bindings/optim_config.h"
#include "optim/optimizer.h"

namespace py = pybind11;

namespace fastnn::bindings {

namespace {

using optim::Clip;
using optim::Config;
using optim::Kind;

double finite_number(const py::handle& obj, const std::string& what) {
  if (py::isinstance<py::bool_>(obj) ||
      !(py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj) ||
        py::hasattr(obj, "__float__")))
    throw py::type_error(what + " must be a number, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  const double x = as_double(obj, what);
  if (!std::isfinite(x)) throw py::value_error(what + " must be finite, got " + std::to_string(x));
  return x;
}

void translate_invalid(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

}  // namespace

// The C++ optimizer config from the plain dict of Optimizer._kernel_config().
Config optim_config_from_dict(const py::dict& d) {
  static const std::set<std::string> kKeys = {"kind",
                                              "momentum",
                                              "nesterov",
                                              "beta_1",
                                              "beta_2",
                                              "epsilon",
                                              "amsgrad",
                                              "rho",
                                              "centered",
                                              "initial_accumulator_value",
                                              "learning_rate_power",
                                              "l1_regularization_strength",
                                              "l2_regularization_strength",
                                              "l2_shrinkage_regularization_strength",
                                              "beta",
                                              "weight_decay",
                                              "clip",
                                              "clip_value",
                                              "use_ema",
                                              "ema_momentum",
                                              "ema_overwrite_frequency",
                                              "warmup_steps"};
  Config c;
  for (auto item : d) {
    const std::string key = py::str(item.first);
    if (!kKeys.count(key)) throw py::value_error("optimizer config: unknown key '" + key + "'");
  }
  if (!d.contains("kind")) throw py::value_error("optimizer config: missing key 'kind'");
  translate_invalid([&] { c.kind = optim::parse_kind(py::str(d["kind"])); });
  auto num = [&](const char* k, double& out) {
    if (d.contains(k)) out = finite_number(d[k], std::string("optimizer config '") + k + "'");
  };
  auto flag = [&](const char* k, bool& out) {
    if (d.contains(k)) out = py::bool_(d[k]);
  };
  num("momentum", c.momentum);
  flag("nesterov", c.nesterov);
  num("beta_1", c.beta_1);
  num("beta_2", c.beta_2);
  num("epsilon", c.epsilon);
  flag("amsgrad", c.amsgrad);
  num("rho", c.rho);
  flag("centered", c.centered);
  num("initial_accumulator_value", c.initial_accumulator_value);
  num("learning_rate_power", c.learning_rate_power);
  num("l1_regularization_strength", c.l1_regularization_strength);
  num("l2_regularization_strength", c.l2_regularization_strength);
  num("l2_shrinkage_regularization_strength", c.l2_shrinkage_regularization_strength);
  num("beta", c.beta);
  num("weight_decay", c.weight_decay);
  if (d.contains("clip"))
    translate_invalid([&] { c.clip = optim::parse_clip(py::str(d["clip"])); });
  num("clip_value", c.clip_value);
  flag("use_ema", c.use_ema);
  num("ema_momentum", c.ema_momentum);
  if (d.contains("ema_overwrite_frequency"))
    c.ema_overwrite_frequency =
        as_int64(d["ema_overwrite_frequency"], "optimizer config 'ema_overwrite_frequency'");
  num("warmup_steps", c.warmup_steps);
  translate_invalid([&] { optim::validate_config(c); });
  return c;
}

py::dict optim_config_to_dict(const Config& c) {
  py::dict d;
  d["kind"]                                 = optim::kind_name(c.kind);
  d["momentum"]                             = c.momentum;
  d["nesterov"]                             = c.nesterov;
  d["beta_1"]                               = c.beta_1;
  d["beta_2"]                               = c.beta_2;
  d["epsilon"]                              = c.epsilon;
  d["amsgrad"]                              = c.amsgrad;
  d["rho"]                                  = c.rho;
  d["centered"]                             = c.centered;
  d["initial_accumulator_value"]            = c.initial_accumulator_value;
  d["learning_rate_power"]                  = c.learning_rate_power;
  d["l1_regularization_strength"]           = c.l1_regularization_strength;
  d["l2_regularization_strength"]           = c.l2_regularization_strength;
  d["l2_shrinkage_regularization_strength"] = c.l2_shrinkage_regularization_strength;
  d["beta"]                                 = c.beta;
  d["weight_decay"]                         = c.weight_decay;
  d["clip"]                                 = optim::clip_name(c.clip);
  d["clip_value"]                           = c.clip_value;
  d["use_ema"]                              = c.use_ema;
  d["ema_momentum"]                         = c.ema_momentum;
  d["ema_overwrite_frequency"]              = c.ema_overwrite_frequency;
  d["warmup_steps"]                         = c.warmup_steps;
  return d;
}

namespace {

std::vector<py::ssize_t> shape_of(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

// A writable state array (param or slot) must be a float32 ndarray, C-contiguous.
FloatArray state_array(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(what + " must be a numpy.ndarray of float32 (updated in place), got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  py::array a = py::reinterpret_borrow<py::array>(obj);
  return checked_out_array(a, shape_of(a), what.c_str());
}

struct Range {
  const char* lo;
  const char* hi;
  std::string name;
};

void check_no_overlap(const std::vector<Range>& ranges, const std::string& fn) {
  for (size_t i = 0; i < ranges.size(); ++i)
    for (size_t j = i + 1; j < ranges.size(); ++j)
      if (ranges[i].lo < ranges[j].hi && ranges[j].lo < ranges[i].hi)
        throw py::value_error(fn + ": " + ranges[i].name + " and " + ranges[j].name +
                              " must not share memory");
}

Range range_of(const py::array& a, const std::string& name) {
  const char* p = static_cast<const char*>(a.data());
  return {p, p + a.nbytes(), name};
}

// Shared by the *_update functions: validates and runs optim::update.
void run_update(const std::string& fn, Config c, const py::handle& param_obj,
                const py::handle& grad_obj,
                const std::vector<std::pair<std::string, py::handle>>& slot_objs, int64_t step,
                const py::handle& lr_obj, const py::handle& clipnorm, const py::handle& clipvalue) {
  const double given = finite_number(lr_obj, fn + ": learning_rate");
  if (given < 0.0)
    throw py::value_error(fn + ": learning_rate must be >= 0, got " + std::to_string(given));
  if (given > std::numeric_limits<float>::max())
    throw py::value_error(fn + ": learning_rate=" + std::to_string(given) +
                          " exceeds float32's range, which fastnn computes in");
  // The rate as the float32 Keras holds it (the optimizer classes pass it so rounded)
  const double lr = static_cast<float>(given);
  if (step < 1)
    throw py::value_error(fn + ": step must be >= 1 (the number of this update), got " +
                          std::to_string(step));
  if (!clipnorm.is_none() && !clipvalue.is_none())
    throw py::value_error(fn + ": only one of clipnorm and clipvalue can be set");
  if (!clipnorm.is_none()) {
    c.clip       = Clip::clipnorm;
    c.clip_value = finite_number(clipnorm, fn + ": clipnorm");
  } else if (!clipvalue.is_none()) {
    c.clip       = Clip::clipvalue;
    c.clip_value = finite_number(clipvalue, fn + ": clipvalue");
  }
  translate_invalid([&] { optim::validate_config(c); });
  if (c.clip != Clip::none && c.clip_value <= 0.0)
    throw py::value_error(fn + ": " + optim::clip_name(c.clip) + " must be > 0, got " +
                          std::to_string(c.clip_value));

  FloatArray param = state_array(param_obj, fn + ": param");
  FloatArray grad  = as_float32_c(grad_obj, (fn + ": grad").c_str());
  if (grad.ndim() != param.ndim() ||
      !std::equal(grad.shape(), grad.shape() + grad.ndim(), param.shape()))
    throw py::value_error(fn + ": grad must have the shape of param " + shape_string(param) +
                          ", got " + shape_string(grad));
  std::vector<FloatArray> slots;
  std::vector<Range> ranges{range_of(param, "param")};
  for (const auto& [name, obj] : slot_objs) {
    FloatArray s = state_array(obj, fn + ": " + name);
    if (s.ndim() != param.ndim() || !std::equal(s.shape(), s.shape() + s.ndim(), param.shape()))
      throw py::value_error(fn + ": " + name + " must have the shape of param " +
                            shape_string(param) + ", got " + shape_string(s));
    ranges.push_back(range_of(s, name));
    slots.push_back(std::move(s));
  }
  check_no_overlap(ranges, fn);
  ranges.push_back(range_of(grad, "grad"));
  check_no_overlap(ranges, fn);

  float* p       = param.mutable_data();
  const float* g = grad.data();
  std::vector<float*> sp;
  for (auto& s : slots) sp.push_back(s.mutable_data());
  const int64_t n = param.size();
  py::gil_scoped_release release;
  optim::update(c, p, g, sp.data(), n, step, lr);
}

// A hyperparameter as a double: TypeError / ValueError naming it ("adam_update:
// beta_1 must be a number, got str"); its range is validate_config's.
double number_arg(const std::string& fn, const py::handle& obj, const char* name) {
  return as_double(obj, fn + ": " + name);
}

void bind_updates(py::module_& ops) {
  ops.def(
      "sgd_update",
      [](const py::handle& param, const py::handle& grad, const py::handle& momentum_buffer,
         const py::handle& learning_rate, const py::handle& momentum, const py::handle& nesterov,
         const py::handle& weight_decay, const py::handle& clipnorm, const py::handle& clipvalue) {
        Config c;
        c.kind         = Kind::sgd;
        c.momentum     = number_arg("sgd_update", momentum, "momentum");
        c.nesterov     = as_flag(nesterov, "sgd_update: nesterov");
        c.weight_decay = number_arg("sgd_update", weight_decay, "weight_decay");
        std::vector<std::pair<std::string, py::handle>> slots;
        if (c.momentum != 0.0) {
          if (momentum_buffer.is_none())
            throw py::value_error(
                "sgd_update: momentum != 0 needs momentum_buffer (zeros at the start)");
          slots.emplace_back("momentum_buffer", momentum_buffer);
        }
        run_update("sgd_update", c, param, grad, slots, 1, learning_rate, clipnorm, clipvalue);
      },
      py::arg("param"), py::arg("grad"), py::arg("momentum_buffer") = py::none(), py::kw_only(),
      py::arg("learning_rate") = 0.01, py::arg("momentum") = 0.0, py::arg("nesterov") = false,
      py::arg("weight_decay") = 0.0, py::arg("clipnorm") = py::none(),
      py::arg("clipvalue") = py::none(),
      R"doc(One Keras 3 SGD step, in place on float32 arrays.

    b = momentum*b - lr*g;  param += b   (nesterov: param += momentum*b - lr*g)
    momentum == 0: param -= lr*g (momentum_buffer unused)
Decoupled weight decay (param -= param*weight_decay*lr) runs before the update;
clipnorm / clipvalue clip grad first (grad itself is not modified).
param and momentum_buffer: writable C-contiguous float32 arrays of one shape;
grad: any real array of that shape.)doc");

  auto adam_like = [](const char* fn, Kind kind) {
    return [fn, kind](const py::handle& param, const py::handle& grad, const py::handle& m,
                      const py::handle& v, const py::handle& step, const py::handle& learning_rate,
                      const py::handle& beta_1, const py::handle& beta_2, const py::handle& epsilon,
                      const py::handle& v_hat, const py::handle& weight_decay,
                      const py::handle& clipnorm, const py::handle& clipvalue) {
      Config c;
      c.kind         = kind;
      c.beta_1       = number_arg(fn, beta_1, "beta_1");
      c.beta_2       = number_arg(fn, beta_2, "beta_2");
      c.epsilon      = number_arg(fn, epsilon, "epsilon");
      c.amsgrad      = !v_hat.is_none();
      c.weight_decay = number_arg(fn, weight_decay, "weight_decay");
      std::vector<std::pair<std::string, py::handle>> slots{{"m", m}, {"v", v}};
      if (c.amsgrad) slots.emplace_back("v_hat", v_hat);
      run_update(fn, c, param, grad, slots, as_int64(step, std::string(fn) + ": step"),
                 learning_rate, clipnorm, clipvalue);
    };
  };
  const char* adam_doc = R"doc(One Keras 3 Adam step t = `step` (1 for the first), in place.

    m += (g - m)*(1 - beta_1);  v += (g*g - v)*(1 - beta_2)
    v_hat given (AMSGrad): v_hat = max(v_hat, v), used instead of v
    param -= lr*sqrt(1 - beta_2^t)/(1 - beta_1^t) * m / (sqrt(v) + epsilon)
Decoupled weight decay (param -= param*weight_decay*lr) runs before the update;
clipnorm / clipvalue clip grad first (grad itself is not modified).
param, m, v, v_hat: writable C-contiguous float32 arrays of one shape (m, v,
v_hat start at zeros); grad: any real array of that shape.)doc";
  ops.def("adam_update", adam_like("adam_update", Kind::adam), py::arg("param"), py::arg("grad"),
          py::arg("m"), py::arg("v"), py::arg("step"), py::kw_only(),
          py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999,
          py::arg("epsilon") = 1e-7, py::arg("v_hat") = py::none(), py::arg("weight_decay") = 0.0,
          py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(), adam_doc);
  ops.def("adamw_update", adam_like("adamw_update", Kind::adamw), py::arg("param"), py::arg("grad"),
          py::arg("m"), py::arg("v"), py::arg("step"), py::kw_only(),
          py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999,
          py::arg("epsilon") = 1e-7, py::arg("v_hat") = py::none(), py::arg("weight_decay") = 0.004,
          py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
          "AdamW: adam_update with weight_decay defaulting to 0.004 (Keras 3 AdamW).");

  ops.def(
      "rmsprop_update",
      [](const py::handle& param, const py::handle& grad, const py::handle& velocity,
         const py::handle& learning_rate, const py::handle& rho, const py::handle& momentum,
         const py::handle& epsilon, const py::handle& momentum_buffer,
         const py::handle& average_gradient, const py::handle& weight_decay,
         const py::handle& clipnorm, const py::handle& clipvalue) {
        Config c;
        c.kind         = Kind::rmsprop;
        c.rho          = number_arg("rmsprop_update", rho, "rho");
        c.momentum     = number_arg("rmsprop_update", momentum, "momentum");
        c.epsilon      = number_arg("rmsprop_update", epsilon, "epsilon");
        c.centered     = !average_gradient.is_none();
        c.weight_decay = number_arg("rmsprop_update", weight_decay, "weight_decay");
        std::vector<std::pair<std::string, py::handle>> slots{{"velocity", velocity}};
        if (c.momentum > 0.0) {
          if (momentum_buffer.is_none())
            throw py::value_error(
                "rmsprop_update: momentum > 0 needs momentum_buffer (zeros at the start)");
          slots.emplace_back("momentum_buffer", momentum_buffer);
        }
        if (c.centered) slots.emplace_back("average_gradient", average_gradient);
        run_update("rmsprop_update", c, param, grad, slots, 1, learning_rate, clipnorm, clipvalue);
      },
      py::arg("param"), py::arg("grad"), py::arg("velocity"), py::kw_only(),
      py::arg("learning_rate") = 0.001, py::arg("rho") = 0.9, py::arg("momentum") = 0.0,
      py::arg("epsilon") = 1e-7, py::arg("momentum_buffer") = py::none(),
      py::arg("average_gradient") = py::none(), py::arg("weight_decay") = 0.0,
      py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
      R"doc(One Keras 3 RMSprop step, in place (epsilon inside the root, unlike PyTorch).

    v = rho*v + (1 - rho)*g*g
    average_gradient given (centered): a = rho*a + (1 - rho)*g; d = max(v - a*a, 0) + epsilon
    else d = v + epsilon
    inc = lr*g/sqrt(d);  momentum > 0: b = momentum*b + inc, param -= b;  else param -= inc
Decoupled weight decay and clipping as in sgd_update. State arrays start at zeros.)doc");

  ops.def(
      "adagrad_update",
      [](const py::handle& param, const py::handle& grad, const py::handle& accumulator,
         const py::handle& learning_rate, const py::handle& epsilon, const py::handle& weight_decay,
         const py::handle& clipnorm, const py::handle& clipvalue) {
        Config c;
        c.kind         = Kind::adagrad;
        c.epsilon      = number_arg("adagrad_update", epsilon, "epsilon");
        c.weight_decay = number_arg("adagrad_update", weight_decay, "weight_decay");
        run_update("adagrad_update", c, param, grad, {{"accumulator", accumulator}}, 1,
                   learning_rate, clipnorm, clipvalue);
      },
      py::arg("param"), py::arg("grad"), py::arg("accumulator"), py::kw_only(),
      py::arg("learning_rate") = 0.001, py::arg("epsilon") = 1e-7, py::arg("weight_decay") = 0.0,
      py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
      R"doc(One Keras 3 Adagrad step, in place.

    acc += g*g;  param -= lr*g/sqrt(acc + epsilon)
accumulator starts at initial_accumulator_value (Keras: 0.1). Decoupled weight
decay and clipping as in sgd_update.)doc");

  // Nadam and Adamax: two slots and the step number, as adam_update.
  auto two_slot = [](const char* fn, Kind kind, const char* second) {
    return [fn, kind, second](const py::handle& param, const py::handle& grad, const py::handle& m,
                              const py::handle& s2, const py::handle& step,
                              const py::handle& learning_rate, const py::handle& beta_1,
                              const py::handle& beta_2, const py::handle& epsilon,
                              const py::handle& weight_decay, const py::handle& clipnorm,
                              const py::handle& clipvalue) {
      Config c;
      c.kind         = kind;
      c.beta_1       = number_arg(fn, beta_1, "beta_1");
      c.beta_2       = number_arg(fn, beta_2, "beta_2");
      c.epsilon      = number_arg(fn, epsilon, "epsilon");
      c.weight_decay = number_arg(fn, weight_decay, "weight_decay");
      run_update(fn, c, param, grad, {{"m", m}, {second, s2}},
                 as_int64(step, std::string(fn) + ": step"), learning_rate, clipnorm, clipvalue);
    };
  };
  ops.def("nadam_update", two_slot("nadam_update", Kind::nadam, "v"), py::arg("param"),
          py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("step"), py::kw_only(),
          py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999,
          py::arg("epsilon") = 1e-7, py::arg("weight_decay") = 0.0,
          py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
          R"doc(One Keras 3 Nadam step t = `step` (1 for the first), in place.

    u_s = beta_1*(1 - 0.5*0.96^s);  U_t = u_1*...*u_t (Keras's u_product, from t)
    m += (g - m)*(1 - beta_1);  v += (g*g - v)*(1 - beta_2)
    m_hat = u_{t+1}*m/(1 - U_t*u_{t+1}) + (1 - u_t)*g/(1 - U_t)
    param -= lr*m_hat / (sqrt(v/(1 - beta_2^t)) + epsilon)
Decoupled weight decay and clipping as in adam_update. param, m, v: writable
C-contiguous float32 arrays of one shape (m, v start at zeros).)doc");
  ops.def("adamax_update", two_slot("adamax_update", Kind::adamax, "u"), py::arg("param"),
          py::arg("grad"), py::arg("m"), py::arg("u"), py::arg("step"), py::kw_only(),
          py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999,
          py::arg("epsilon") = 1e-7, py::arg("weight_decay") = 0.0,
          py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
          R"doc(One Keras 3 Adamax step t = `step` (1 for the first), in place.

    m += (g - m)*(1 - beta_1);  u = max(beta_2*u, |g|)
    param -= lr/(1 - beta_1^t) * m / (u + epsilon)
Decoupled weight decay and clipping as in adam_update. param, m, u: writable
C-contiguous float32 arrays of one shape (m, u start at zeros).)doc");

  ops.def(
      "lion_update",
      [](const py::handle& param, const py::handle& grad, const py::handle& m,
         const py::handle& learning_rate, const py::handle& beta_1, const py::handle& beta_2,
         const py::handle& weight_decay, const py::handle& clipnorm, const py::handle& clipvalue) {
        Config c;
        c.kind         = Kind::lion;
        c.beta_1       = number_arg("lion_update", beta_1, "beta_1");
        c.beta_2       = number_arg("lion_update", beta_2, "beta_2");
        c.weight_decay = number_arg("lion_update", weight_decay, "weight_decay");
        run_update("lion_update", c, param, grad, {{"m", m}}, 1, learning_rate, clipnorm,
                   clipvalue);
      },
      py::arg("param"), py::arg("grad"), py::arg("m"), py::kw_only(),
      py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.99,
      py::arg("weight_decay") = 0.0, py::arg("clipnorm") = py::none(),
      py::arg("clipvalue") = py::none(),
      R"doc(One Keras 3 Lion step, in place.

    param -= lr*sign(m*beta_1 + g*(1 - beta_1));  m = m*beta_2 + g*(1 - beta_2)
beta_1 in (0, 1] (Keras), beta_2 in [0, 1]. Decoupled weight decay and clipping
as in sgd_update. param, m: writable C-contiguous float32 arrays of one shape
(m starts at zeros).)doc");

  ops.def(
      "adadelta_update",
      [](const py::handle& param, const py::handle& grad, const py::handle& accumulated_grad,
         const py::handle& accumulated_delta_var, const py::handle& learning_rate,
         const py::handle& rho, const py::handle& epsilon, const py::handle& weight_decay,
         const py::handle& clipnorm, const py::handle& clipvalue) {
        Config c;
        c.kind         = Kind::adadelta;
        c.rho          = number_arg("adadelta_update", rho, "rho");
        c.epsilon      = number_arg("adadelta_update", epsilon, "epsilon");
        c.weight_decay = number_arg("adadelta_update", weight_decay, "weight_decay");
        run_update("adadelta_update", c, param, grad,
                   {{"accumulated_grad", accumulated_grad},
                    {"accumulated_delta_var", accumulated_delta_var}},
                   1, learning_rate, clipnorm, clipvalue);
      },
      py::arg("param"), py::arg("grad"), py::arg("accumulated_grad"),
      py::arg("accumulated_delta_var"), py::kw_only(), py::arg("learning_rate") = 0.001,
      py::arg("rho") = 0.95, py::arg("epsilon") = 1e-7, py::arg("weight_decay") = 0.0,
      py::arg("clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
      R"doc(One Keras 3 Adadelta step, in place.

    a = rho*a + (1 - rho)*g*g                          (accumulated_grad)
    d = sqrt(u + epsilon)*g / sqrt(a + epsilon)        (u: accumulated_delta_var)
    u = rho*u + (1 - rho)*d*d;  param -= lr*d
rho in [0, 1], epsilon >= 0. Decoupled weight decay and clipping as in
sgd_update. param, accumulated_grad, accumulated_delta_var: writable
C-contiguous float32 arrays of one shape (the two slots start at zeros).)doc");

  ops.def(
      "ftrl_update",
      [](const py::handle& param, const py::handle& grad, const py::handle& accumulator,
         const py::handle& linear, const py::handle& learning_rate,
         const py::handle& learning_rate_power, const py::handle& l1, const py::handle& l2,
         const py::handle& l2_shrinkage, const py::handle& beta, const py::handle& weight_decay,
         const py::handle& clipnorm, const py::handle& clipvalue) {
        const char* fn = "ftrl_update";
        Config c;
        c.kind                       = Kind::ftrl;
        c.learning_rate_power        = number_arg(fn, learning_rate_power, "learning_rate_power");
        c.l1_regularization_strength = number_arg(fn, l1, "l1_regularization_strength");
        c.l2_regularization_strength = number_arg(fn, l2, "l2_regularization_strength");
        c.l2_shrinkage_regularization_strength =
            number_arg(fn, l2_shrinkage, "l2_shrinkage_regularization_strength");
        c.beta         = number_arg(fn, beta, "beta");
        c.weight_decay = number_arg(fn, weight_decay, "weight_decay");
        run_update(fn, c, param, grad, {{"accumulator", accumulator}, {"linear", linear}}, 1,
                   learning_rate, clipnorm, clipvalue);
      },
      py::arg("param"), py::arg("grad"), py::arg("accumulator"), py::arg("linear"), py::kw_only(),
      py::arg("learning_rate") = 0.001, py::arg("learning_rate_power") = -0.5,
      py::arg("l1_regularization_strength") = 0.0, py::arg("l2_regularization_strength") = 0.0,
      py::arg("l2_shrinkage_regularization_strength") = 0.0, py::arg("beta") = 0.0,
      py::arg("weight_decay") = 0.0, py::arg("clipnorm") = py::none(),
      py::arg("clipvalue") = py::none(),
      R"doc(One Keras 3 FTRL step, in place (p = -learning_rate_power).

    n = acc + g*g
    linear += (g + 2*l2_shrinkage*param) - (n^p - acc^p)/lr * param
    param = (clip(linear, -l1, l1) - linear) / (n^p/lr + 2*l2 + beta/lr);  acc = n
learning_rate_power <= 0; l1, l2, l2_shrinkage >= 0 (the *_regularization_strength
arguments). accumulator starts at initial_accumulator_value (Keras: 0.1),
linear at zeros. Decoupled weight decay and clipping as in sgd_update. param,
accumulator, linear: writable C-contiguous float32 arrays of one shape.)doc");
}

void bind_optimizer_class(py::module_& om) {
  py::class_<optim::Optimizer>(om, "Optimizer", R"doc(Fused optimizer over a flat parameter buffer.

Optimizer(config: dict, offsets: list[int]): config as returned by
fastnn.optimizers.<X>()._kernel_config(); tensor k is elements
[offsets[k], offsets[k+1]) of the flat buffer. Owns the slot buffers and the
iteration counter; see cpp/optim/optimizer.h for the formulas.)doc")
      .def(py::init([](const py::dict& config, std::vector<int64_t> offsets) {
             Config c = optim_config_from_dict(config);
             std::unique_ptr<optim::Optimizer> o;
             translate_invalid(
                 [&] { o = std::make_unique<optim::Optimizer>(c, std::move(offsets)); });
             return o;
           }),
           py::arg("config"), py::arg("offsets"))
      .def(
          "step",
          [](optim::Optimizer& self, const py::handle& params_obj, const py::handle& grads_obj,
             double learning_rate) {
            if (!std::isfinite(learning_rate) || learning_rate < 0.0)
              throw py::value_error("Optimizer.step: learning_rate must be finite and >= 0, got " +
                                    std::to_string(learning_rate));
            FloatArray params = state_array(params_obj, "Optimizer.step: params");
            FloatArray grads  = as_float32_c(grads_obj, "Optimizer.step: grads");
            if (params.size() != self.size() || grads.size() != self.size())
              throw py::value_error("Optimizer.step: params and grads must have " +
                                    std::to_string(self.size()) + " elements, got " +
                                    shape_string(params) + " and " + shape_string(grads));
            float* p       = params.mutable_data();
            const float* g = grads.data();
            py::gil_scoped_release release;
            self.step(p, g, self.size(), learning_rate);
          },
          py::arg("params"), py::arg("grads"), py::arg("learning_rate"),
          "One step over the flat buffers (params updated in place); iterations += 1.")
      .def(
          "set_frozen",
          [](optim::Optimizer& self, const std::vector<bool>& frozen) {
            translate_invalid([&] { self.set_frozen(frozen); });
          },
          py::arg("frozen"),
          "Per tensor, whether step() leaves it alone (no update, no weight decay, outside the "
          "global norm): the tensors of layers with trainable=False.")
      .def(
          "set_averaged",
          [](optim::Optimizer& self, const std::vector<bool>& averaged) {
            translate_invalid([&] { self.set_averaged(averaged); });
          },
          py::arg("averaged"),
          "Per tensor, whether the moving average (use_ema) covers it: the tensors the "
          "optimizer was built for (all by default), whatever their gradients.")
      .def(
          "set_decayed",
          [](optim::Optimizer& self, const std::vector<bool>& decayed) {
            translate_invalid([&] { self.set_decayed(decayed); });
          },
          py::arg("decayed"),
          "Per tensor, whether weight decay applies to it (all by default): False for the "
          "tensors excluded with exclude_from_weight_decay.")
      .def(
          "decayed",
          [](const optim::Optimizer& self) {
            std::vector<bool> out;
            for (int k = 0; k < self.num_tensors(); ++k) out.push_back(self.decayed(k));
            return out;
          },
          "Per tensor, the flags set_decayed set.")
      .def(
          "step_tensors",
          [](optim::Optimizer& self, const py::list& params_list, const py::list& grads_list,
             double learning_rate) {
            const int T = self.num_tensors();
            if (static_cast<int>(params_list.size()) != T ||
                static_cast<int>(grads_list.size()) != T)
              throw py::value_error("Optimizer.step_tensors: expected " + std::to_string(T) +
                                    " params and grads, got " + std::to_string(params_list.size()) +
                                    " and " + std::to_string(grads_list.size()));
            if (!std::isfinite(learning_rate) || learning_rate < 0.0)
              throw py::value_error(
                  "Optimizer.step_tensors: learning_rate must be finite and >= 0");
            std::vector<FloatArray> keep_p, keep_g;
            std::vector<float*> p(T, nullptr);
            std::vector<const float*> g(T, nullptr);
            const auto& off = self.offsets();
            for (int k = 0; k < T; ++k) {
              const std::string idx = "[" + std::to_string(k) + "]";
              FloatArray pa = state_array(params_list[k], "Optimizer.step_tensors: params" + idx);
              if (pa.size() != off[k + 1] - off[k])
                throw py::value_error("Optimizer.step_tensors: params" + idx + " must have " +
                                      std::to_string(off[k + 1] - off[k]) + " elements, got " +
                                      shape_string(pa));
              p[k] = pa.mutable_data();
              keep_p.push_back(std::move(pa));
              if (grads_list[k].is_none()) continue;
              FloatArray ga =
                  as_float32_c(grads_list[k], ("Optimizer.step_tensors: grads" + idx).c_str());
              if (ga.ndim() != keep_p.back().ndim() ||
                  !std::equal(ga.shape(), ga.shape() + ga.ndim(), keep_p.back().shape()))
                throw py::value_error("Optimizer.step_tensors: grads" + idx +
                                      " must have the shape of params" + idx + " " +
                                      shape_string(keep_p.back()) + ", got " + shape_string(ga));
              g[k] = ga.data();
              keep_g.push_back(std::move(ga));
            }
            std::vector<Range> ranges;
            for (int k = 0; k < T; ++k)
              ranges.push_back(range_of(keep_p[k], "params[" + std::to_string(k) + "]"));
            check_no_overlap(ranges, "Optimizer.step_tensors");
            py::gil_scoped_release release;
            self.step_tensors(p.data(), g.data(), learning_rate);
          },
          py::arg("params"), py::arg("grads"), py::arg("learning_rate"),
          "One step over tensors stored apart (grads[k] None skips tensor k); iterations += 1.")
      .def_property("iterations", &optim::Optimizer::iterations,
                    [](optim::Optimizer& self, int64_t it) {
                      translate_invalid([&] { self.set_iterations(it); });
                    })
      .def_property("copy_z_pending", &optim::Optimizer::copy_z_pending,
                    &optim::Optimizer::set_copy_z_pending,
                    "Schedule-free AdamW: whether the next step first copies the weights into "
                    "z (always False for the other kinds).")
      .def_property_readonly("size", &optim::Optimizer::size)
      .def_property_readonly("num_tensors", &optim::Optimizer::num_tensors)
      .def_property_readonly("offsets", &optim::Optimizer::offsets)
      .def_property_readonly(
          "config",
          [](const optim::Optimizer& self) { return optim_config_to_dict(self.config()); })
      .def_property_readonly("slot_names",
                             [](const optim::Optimizer& self) {
                               std::vector<std::string> names;
                               for (int i = 0; i < self.num_slots(); ++i)
                                 names.push_back(self.slot_name(i));
                               return names;
                             })
      .def(
          "slot",
          [](py::object self_obj, int i) {
            auto& self = self_obj.cast<optim::Optimizer&>();
            if (i < 0 || i >= self.num_slots())
              throw py::index_error("Optimizer.slot: index " + std::to_string(i) +
                                    " out of range [0, " + std::to_string(self.num_slots()) + ")");
            return py::array_t<float>({static_cast<py::ssize_t>(self.size())},
                                      {static_cast<py::ssize_t>(sizeof(float))}, self.slot(i),
                                      self_obj);
          },
          py::arg("i"), "Slot i as a writable float32 view of the flat buffer (kept alive by it).")
      .def("reset", &optim::Optimizer::reset, "Slots to their initial values, iterations to 0.");
}

}  // namespace

void bind_optim(py::module_& m, py::module_& ops) {
  bind_updates(ops);
  py::module_ om = m.def_submodule("optim", "Fused optimizers over flat float32 buffers");
  om.def(
      "validate_config",
      [](const py::dict& d) { return optim_config_to_dict(optim_config_from_dict(d)); },
      py::arg("config"),
      "Parses and checks a kernel config dict; returns it with defaults filled.");
  om.def("nadam_u_product", &optim::nadam_u_product, py::arg("beta_1"), py::arg("t"),
         "Nadam's u_product after step t (Keras's `_u_product` variable), in double.");
  bind_optimizer_class(om);
}

}  // namespace fastnn::bindings
