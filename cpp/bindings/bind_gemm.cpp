// fastnn._core.ops: matmul, dense (fused bias + activation) and the private
// full-contract _sgemm used by the tests. Validation and layout mapping only;
// the math is gemm::sgemm.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "bindings/array_utils.h"
#include "gemm/gemm.h"
#include "ops/activation_kind.h"

namespace py = pybind11;

namespace fastnn::bindings {

namespace {

using ops::ActivationKind;

// A 2-D float32 matrix as sgemm sees it: `data` row-major with leading
// dimension `ld`, holding the matrix itself (trans == false) or its transpose
// (trans == true, a column-major view). `keep` owns any converted copy.
struct MatView {
  py::array keep;
  const float* data = nullptr;
  int64_t rows = 0, cols = 0, ld = 1;
  bool trans = false;
};

MatView as_matrix(const py::handle& obj, const char* fn, const char* what) {
  py::array arr = as_numeric_array(obj, what);
  if (arr.ndim() != 2)
    throw py::value_error(std::string(fn) + ": " + what + " must be a 2-D array, got shape " +
                          shape_string(arr));
  // Other real dtypes are converted once, keeping their memory order.
  if (!arr.dtype().is(py::dtype::of<float>())) arr = arr.attr("astype")(py::dtype::of<float>());
  MatView v;
  v.rows               = arr.shape(0);
  v.cols               = arr.shape(1);
  const py::ssize_t s0 = arr.strides(0), s1 = arr.strides(1);
  const py::ssize_t fsz = static_cast<py::ssize_t>(sizeof(float));
  const bool aligned    = reinterpret_cast<std::uintptr_t>(arr.data()) % alignof(float) == 0;
  auto usable_ld        = [&](py::ssize_t s, int64_t min_ld) {
    return s > 0 && s % fsz == 0 && s / fsz >= min_ld;
  };
  if (aligned && (v.cols <= 1 || s1 == fsz) && (v.rows <= 1 || usable_ld(s0, v.cols))) {
    v.ld = v.rows <= 1 ? std::max<int64_t>(v.cols, 1) : s0 / fsz;  // row-major view
  } else if (aligned && (v.rows <= 1 || s0 == fsz) && (v.cols <= 1 || usable_ld(s1, v.rows))) {
    v.trans = true;  // column-major: the transpose of a row-major cols x rows
    v.ld    = v.cols <= 1 ? std::max<int64_t>(v.rows, 1) : s1 / fsz;
  } else {
    // Neither stride is unit: one copy into C order.
    arr  = py::module_::import("numpy").attr("ascontiguousarray")(arr);
    v.ld = std::max<int64_t>(v.cols, 1);
  }
  v.keep = arr;
  v.data = static_cast<const float*>(arr.data());
  return v;
}

std::string dims(int64_t r, int64_t c) {
  return "(" + std::to_string(r) + ", " + std::to_string(c) + ")";
}

ActivationKind fused_activation(const py::object& activation, const char* fn) {
  if (activation.is_none()) return ActivationKind::linear;
  if (!py::isinstance<py::str>(activation))
    throw py::type_error(std::string(fn) + ": activation must be a string or None, got " +
                         std::string(py::str(py::type::handle_of(activation).attr("__name__"))));
  const ActivationKind kind = ops::activation_from_name(activation.cast<std::string>());
  if (kind != ActivationKind::linear && kind != ActivationKind::relu &&
      kind != ActivationKind::sigmoid && kind != ActivationKind::tanh)
    throw py::value_error(std::string(fn) + ": activation '" + activation.cast<std::string>() +
                          "' cannot be fused; expected one of None, 'linear', 'relu', "
                          "'sigmoid', 'tanh'");
  return kind;
}

// The float32 vector / matrix of an optional argument, with a shape check.
FloatArray checked_input(const py::handle& obj, const char* fn, const char* what,
                         const std::vector<py::ssize_t>& shape) {
  FloatArray arr = as_float32_c(obj, what);
  bool same      = arr.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; same && i < shape.size(); ++i) same = arr.shape(i) == shape[i];
  if (!same) {
    std::string expected = "(";
    for (size_t i = 0; i < shape.size(); ++i)
      expected += (i ? ", " : "") + std::to_string(shape[i]);
    expected += shape.size() == 1 ? ",)" : ")";
    throw py::value_error(std::string(fn) + ": " + what + " must have shape " + expected +
                          ", got " + shape_string(arr));
  }
  return arr;
}

// The byte range [lo, hi) an array's elements span (what
// numpy.may_share_memory compares, without its call overhead).
bool byte_range(const py::array& a, std::uintptr_t* lo, std::uintptr_t* hi) {
  if (a.size() == 0) return false;
  auto base         = reinterpret_cast<std::uintptr_t>(a.data());
  std::intptr_t low = 0, high = 0;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    const std::intptr_t span = static_cast<std::intptr_t>(a.shape(d) - 1) * a.strides(d);
    (span < 0 ? low : high) += span;
  }
  *lo = base + low;
  *hi = base + high + a.itemsize();
  return true;
}

void check_no_overlap(const py::array& out, const MatView& a, const MatView& b, const char* fn) {
  std::uintptr_t olo, ohi, lo, hi;
  if (!byte_range(out, &olo, &ohi)) return;
  for (const py::array* in : {&a.keep, &b.keep})
    if (byte_range(*in, &lo, &hi) && lo < ohi && olo < hi)
      throw py::value_error(std::string(fn) + ": out must not share memory with the inputs");
}

struct GemmShape {
  int64_t m, n, k;
};

GemmShape gemm_shape(const MatView& a, const MatView& b, bool ta, bool tb, const char* fn,
                     const char* an, const char* bn) {
  const int64_t m = ta ? a.cols : a.rows, ka = ta ? a.rows : a.cols;
  const int64_t kb = tb ? b.cols : b.rows, n = tb ? b.rows : b.cols;
  if (ka != kb)
    throw py::value_error(std::string(fn) + ": inner dimensions differ: " + an + " " +
                          dims(a.rows, a.cols) + (ta ? " transposed" : "") + " and " + bn + " " +
                          dims(b.rows, b.cols) + (tb ? " transposed" : "") + " (" +
                          std::to_string(ka) + " != " + std::to_string(kb) + ")");
  return {m, n, ka};
}

py::array matmul(const py::handle& a_obj, const py::handle& b_obj,
                 const py::handle& transpose_a_obj, const py::handle& transpose_b_obj,
                 const py::object& out) {
  const bool transpose_a = as_flag(transpose_a_obj, "matmul: transpose_a");
  const bool transpose_b = as_flag(transpose_b_obj, "matmul: transpose_b");
  const MatView a        = as_matrix(a_obj, "matmul", "a");
  const MatView b        = as_matrix(b_obj, "matmul", "b");
  const GemmShape s      = gemm_shape(a, b, transpose_a, transpose_b, "matmul", "a", "b");
  FloatArray c;
  if (out.is_none()) {
    c = FloatArray({s.m, s.n});
  } else {
    c = checked_out_array(out, {s.m, s.n}, "out");
    check_no_overlap(c, a, b, "matmul");
  }
  float* cp = c.mutable_data();
  {
    py::gil_scoped_release release;
    gemm::sgemm(a.trans != transpose_a, b.trans != transpose_b, s.m, s.n, s.k, 1.0f, a.data, a.ld,
                b.data, b.ld, 0.0f, cp, std::max<int64_t>(s.n, 1));
  }
  return std::move(c);
}

py::object dense(const py::handle& x_obj, const py::handle& w_obj, const py::object& b_obj,
                 const py::object& activation, const py::handle& return_pre_activation_obj) {
  const bool return_pre_activation =
      as_flag(return_pre_activation_obj, "dense: return_pre_activation");
  const MatView x           = as_matrix(x_obj, "dense", "x");
  const MatView w           = as_matrix(w_obj, "dense", "w");
  const GemmShape s         = gemm_shape(x, w, false, false, "dense", "x", "w");
  const ActivationKind kind = fused_activation(activation, "dense");
  FloatArray bias;
  if (!b_obj.is_none()) bias = checked_input(b_obj, "dense", "b", {s.n});
  FloatArray y({s.m, s.n});
  FloatArray z;
  if (return_pre_activation) z = FloatArray({s.m, s.n});
  gemm::Epilogue ep;
  ep.act            = kind;
  ep.bias           = b_obj.is_none() ? nullptr : bias.data();
  ep.pre_activation = return_pre_activation ? z.mutable_data() : nullptr;
  ep.ld_pre         = std::max<int64_t>(s.n, 1);
  float* yp         = y.mutable_data();
  {
    py::gil_scoped_release release;
    gemm::sgemm(x.trans, w.trans, s.m, s.n, s.k, 1.0f, x.data, x.ld, w.data, w.ld, 0.0f, yp,
                std::max<int64_t>(s.n, 1), &ep);
  }
  if (return_pre_activation) return py::make_tuple(y, z);
  return std::move(y);
}

// The whole sgemm contract on NumPy arrays, for tests: c (C-contiguous
// float32, m x n) is updated in place. With skip_zero_a, sgemm_skip_zero_a
// runs instead (no prologue) and the fraction of k steps it kept is returned.
py::object sgemm_full(const py::handle& a_obj, const py::handle& b_obj, const py::handle& c_obj,
                      float alpha, float beta, bool transpose_a, bool transpose_b,
                      const py::object& bias_obj, const py::object& activation,
                      const py::object& pre_obj, const py::object& act_a, const py::object& y_a_obj,
                      const py::object& act_b, const py::object& y_b_obj, bool skip_zero_a) {
  const MatView a   = as_matrix(a_obj, "sgemm", "a");
  const MatView b   = as_matrix(b_obj, "sgemm", "b");
  const GemmShape s = gemm_shape(a, b, transpose_a, transpose_b, "sgemm", "a", "b");
  FloatArray c      = checked_out_array(c_obj, {s.m, s.n}, "c");
  check_no_overlap(c, a, b, "sgemm");
  gemm::Epilogue ep;
  ep.act = fused_activation(activation, "sgemm");
  FloatArray bias, pre, ya, yb;
  if (!bias_obj.is_none()) {
    bias    = checked_input(bias_obj, "sgemm", "bias", {s.n});
    ep.bias = bias.data();
  }
  if (!pre_obj.is_none()) {
    pre               = checked_out_array(pre_obj, {s.m, s.n}, "pre_activation");
    ep.pre_activation = pre.mutable_data();
    ep.ld_pre         = std::max<int64_t>(s.n, 1);
  }
  gemm::Prologue pa, pb;
  pa.act = fused_activation(act_a, "sgemm");
  pb.act = fused_activation(act_b, "sgemm");
  if (pa.act != ActivationKind::linear) {
    ya      = checked_input(y_a_obj, "sgemm", "y_a", {s.m, s.k});
    pa.y    = ya.data();
    pa.ld_y = std::max<int64_t>(s.k, 1);
  }
  if (pb.act != ActivationKind::linear) {
    yb      = checked_input(y_b_obj, "sgemm", "y_b", {s.k, s.n});
    pb.y    = yb.data();
    pb.ld_y = std::max<int64_t>(s.n, 1);
  }
  float* cp = c.mutable_data();
  if (skip_zero_a) {
    if (pa.act != ActivationKind::linear || pb.act != ActivationKind::linear)
      throw py::value_error("sgemm: skip_zero_a takes no prologue");
    double kept = 0.0;
    {
      py::gil_scoped_release release;
      kept = gemm::sgemm_skip_zero_a(a.trans != transpose_a, b.trans != transpose_b, s.m, s.n, s.k,
                                     alpha, a.data, a.ld, b.data, b.ld, beta, cp,
                                     std::max<int64_t>(s.n, 1), &ep);
    }
    return py::float_(kept);
  }
  {
    py::gil_scoped_release release;
    gemm::sgemm(a.trans != transpose_a, b.trans != transpose_b, s.m, s.n, s.k, alpha, a.data, a.ld,
                b.data, b.ld, beta, cp, std::max<int64_t>(s.n, 1), &ep, &pa, &pb);
  }
  return py::none();
}

}  // namespace

void bind_gemm(py::module_& ops) {
  ops.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false,
          py::arg("transpose_b") = false, py::arg("out") = py::none(),
          R"doc(Matrix product op(a) @ op(b) in float32.

Args:
    a: 2-D array (m, k), or (k, m) with transpose_a. Any real dtype (converted
        to float32 once) and any memory order: C- and Fortran-ordered arrays
        and views with one unit stride are used without a copy.
    b: 2-D array (k, n), or (n, k) with transpose_b.
    transpose_a: use a.T. Defaults to `False`.
    transpose_b: use b.T. Defaults to `False`.
    out: C-contiguous float32 array of shape (m, n) to write into (must not
        overlap a or b). Defaults to `None` (a new array).

Returns:
    The (m, n) float32 product (`out` when given).

>>> fastnn.ops.matmul(np.ones((2, 3)), np.ones((3, 4))).shape
(2, 4)
)doc");
  ops.def("dense", &dense, py::arg("x"), py::arg("w"), py::arg("b") = py::none(),
          py::arg("activation") = py::none(), py::arg("return_pre_activation") = false,
          R"doc(Dense layer forward: activation(x @ w + b), fused into the GEMM.

The bias add and the activation are applied to each output tile while it is
in registers (relu) or in L1 (sigmoid, tanh), not in separate passes.

Args:
    x: 2-D array (batch, in), any real dtype and memory order.
    w: 2-D array (in, out).
    b: 1-D array (out,). Defaults to `None` (no bias).
    activation: None, 'linear', 'relu', 'sigmoid' or 'tanh'. Defaults to
        `None`.
    return_pre_activation: also return z = x @ w + b. Defaults to `False`.

Returns:
    y, float32 (batch, out); (y, z) with return_pre_activation.
)doc");
  ops.def("_sgemm", &sgemm_full, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("alpha"),
          py::arg("beta"), py::arg("transpose_a") = false, py::arg("transpose_b") = false,
          py::arg("bias") = py::none(), py::arg("activation") = py::none(),
          py::arg("pre_activation") = py::none(), py::arg("prologue_a") = py::none(),
          py::arg("y_a") = py::none(), py::arg("prologue_b") = py::none(),
          py::arg("y_b") = py::none(), py::arg("skip_zero_a") = false,
          "Private: the full sgemm contract, c updated in place; with skip_zero_a, "
          "sgemm_skip_zero_a, returning the fraction of k steps kept.");
  ops.def(
      "_sgemm_set_packing",
      [](int pack_a, int pack_b) { gemm::set_sgemm_packing_override(pack_a, pack_b); },
      py::arg("pack_a"), py::arg("pack_b"),
      "Private: force packing of A / B (-1 auto, 0 in place, 1 packed); results unchanged.");
  ops.def(
      "_sgemm_set_small_m", [](int mode) { gemm::set_sgemm_small_m_override(mode); },
      py::arg("mode"),
      "Private: small-M path (-1 auto, 0 never, 1 wherever legal); results unchanged.");
  ops.def(
      "_sgemm_set_narrow_n", [](int mode) { gemm::set_sgemm_narrow_n_override(mode); },
      py::arg("mode"),
      "Private: narrow-N path (-1 auto, 0 never, 1 wherever legal); results unchanged.");
  ops.def(
      "_sgemm_set_skip_zero", [](int mode) { gemm::set_sgemm_skip_zero_override(mode); },
      py::arg("mode"),
      "Private: A's zero steps skipped (-1 auto, 0 never, 1 wherever legal); results unchanged.");
}

}  // namespace fastnn::bindings
