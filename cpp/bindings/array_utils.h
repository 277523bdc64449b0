// Validation and conversion of NumPy arrays at the binding boundary.
//
// Bindings validate and convert; they hold no math. Real numeric dtypes
// (bool, integers, floats) are accepted and converted to float32 once;
// complex, object, string and structured dtypes raise TypeError.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace fastnn::bindings {

namespace py = pybind11;

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// "(3, 4)" for error messages.
// A label value for an error message: "10" for a whole number (labels come
// in as doubles), else its Python float repr ("2.5", "nan").
std::string label_text(double value);
// A float32 label as NumPy prints it (shortest digits: 1.2, not 1.2000000476837158).
std::string label_text(float value);

std::string shape_string(const py::array& a);

// Raises TypeError unless `obj` converts to an array of a real numeric dtype.
// `what` names the argument in the message.
py::array as_numeric_array(const py::handle& obj, const char* what);

// A C-contiguous float32 array with the values of `obj` (no copy when it
// already is one). Raises TypeError for non-numeric dtypes.
FloatArray as_float32_c(const py::handle& obj, const char* what);

// Checks that `out` is a writable, C-contiguous float32 ndarray of `shape`;
// raises TypeError / ValueError saying what was expected.
FloatArray checked_out_array(const py::handle& out, const std::vector<py::ssize_t>& shape,
                             const char* what);

// `obj` as a double: TypeError naming `what` unless it is a number,
// ValueError when it is an integer too large for a double (10**400), in
// place of pybind11's bare "Unable to cast" RuntimeError.
double as_double(const py::handle& obj, const std::string& what);

// `obj` as an int64: TypeError naming `what` unless it is an integer (a float
// such as 1.5 included), ValueError when it does not fit in 64 bits, in place
// of pybind11's "incompatible function arguments".
int64_t as_int64(const py::handle& obj, const std::string& what);

// `obj` as a bool (what pybind11 converts: True/False, NumPy bools, numbers,
// None): TypeError naming `what` otherwise (a str, a list).
bool as_flag(const py::handle& obj, const std::string& what);

// `obj` as a string: TypeError naming `what` unless it is a str.
std::string as_name(const py::handle& obj, const std::string& what);

}  // namespace fastnn::bindings
