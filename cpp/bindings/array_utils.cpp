#include "bindings/array_utils.h"

#include <cmath>

namespace fastnn::bindings {

std::string label_text(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9.0e15)
    return std::to_string(static_cast<int64_t>(value));
  return std::string(py::str(py::float_(value)));
}

std::string label_text(float value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9.0e15f)
    return std::to_string(static_cast<int64_t>(value));
  return std::string(py::str(py::module_::import("numpy").attr("float32")(value)));  // "1.2"
}

std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

py::array as_numeric_array(const py::handle& obj, const char* what) {
  // An ndarray is used as it is (ensure() would go through NumPy's general
  // conversion, a measurable part of a small call).
  py::array arr = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                                 : py::array::ensure(obj);
  if (!arr) {
    PyErr_Clear();
    throw py::type_error(std::string(what) + " must be array-like of numbers, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
  const char kind = arr.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
    // Labels given as text ("cat", "dog"): say how to make class ids of them.
    const bool text_labels = what[0] == 'y' && (kind == 'O' || kind == 'U' || kind == 'S');
    throw py::type_error(std::string(what) +
                         " must have a real numeric dtype (bool, int, uint or float), got dtype " +
                         std::string(py::str(arr.dtype())) +
                         (text_labels ? ": labels that are strings or other objects must be "
                                        "encoded as numbers first (class ids 0..k-1, e.g. "
                                        "pandas.factorize(labels)[0] or scikit-learn's "
                                        "LabelEncoder)"
                                      : ""));
  }
  return arr;
}

FloatArray as_float32_c(const py::handle& obj, const char* what) {
  py::array arr = as_numeric_array(obj, what);
  // The converting constructor keeps NumPy's error (MemoryError, or a cast
  // warning the user turned into an error); ensure() would clear it.
  return FloatArray(arr);
}

FloatArray checked_out_array(const py::handle& out, const std::vector<py::ssize_t>& shape,
                             const char* what) {
  if (!py::isinstance<py::array>(out))
    throw py::type_error(std::string(what) + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::handle_of(out).attr("__name__"))));
  py::array arr = py::reinterpret_borrow<py::array>(out);
  if (!arr.dtype().is(py::dtype::of<float>()))
    throw py::type_error(std::string(what) + " must have dtype float32, got " +
                         std::string(py::str(arr.dtype())));
  bool same = arr.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; same && i < shape.size(); ++i) same = arr.shape(i) == shape[i];
  if (!same) {
    std::string expected = "(";
    for (size_t i = 0; i < shape.size(); ++i)
      expected += (i ? ", " : "") + std::to_string(shape[i]);
    expected += shape.size() == 1 ? ",)" : ")";
    throw py::value_error(std::string(what) + " must have shape " + expected + ", got " +
                          shape_string(arr));
  }
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(what) + " must be C-contiguous");
  if (!arr.writeable()) throw py::value_error(std::string(what) + " must be writable");
  return py::reinterpret_borrow<FloatArray>(arr);
}

double as_double(const py::handle& obj, const std::string& what) {
  try {
    return obj.cast<double>();
  } catch (const py::cast_error&) {
    const std::string type = py::str(py::type::handle_of(obj).attr("__name__"));
    if (py::isinstance<py::int_>(obj))
      throw py::value_error(what +
                            " must be a finite number, got an integer too large for a float");
    throw py::type_error(what + " must be a number, got " + type);
  }
}

int64_t as_int64(const py::handle& obj, const std::string& what) {
  const std::string type = py::str(py::type::handle_of(obj).attr("__name__"));
  if (!py::isinstance<py::int_>(obj) && !py::hasattr(obj, "__index__"))
    throw py::type_error(what + " must be an integer, got " + type);
  try {
    return obj.cast<int64_t>();
  } catch (const py::cast_error&) {
    throw py::value_error(what + " must be an integer that fits in 64 bits, got " +
                          std::string(py::str(obj)));
  }
}

bool as_flag(const py::handle& obj, const std::string& what) {
  try {
    return obj.cast<bool>();
  } catch (const py::cast_error&) {
    throw py::type_error(what + " must be a bool, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
}

std::string as_name(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::str>(obj))
    throw py::type_error(what + " must be a str, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  return obj.cast<std::string>();
}

}  // namespace fastnn::bindings
