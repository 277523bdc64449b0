// A 64-byte-aligned float buffer that only grows (no allocation in the hot
// loop: callers reserve once per shape and reuse).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>

namespace fastnn::runtime {

constexpr std::size_t kAlignment = 64;

// "20.0 TiB" for messages.
inline std::string byte_text(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  int u               = 0;
  while (bytes >= 1024.0 && u < 8) bytes /= 1024.0, ++u;
  char text[64];
  std::snprintf(text, sizeof text, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return text;
}

// A std::bad_alloc that says what could not be allocated (pybind11 raises
// MemoryError with its what()), in place of a bare "std::bad_alloc".
class AllocationError : public std::bad_alloc {
 public:
  explicit AllocationError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) { reserve(n); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&)            = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), capacity_(std::exchange(o.capacity_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_     = std::exchange(o.data_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }

  // Ensures room for n elements; contents are not preserved when it grows.
  // Throws AllocationError (a std::bad_alloc naming the size) when the memory
  // is not there or n elements' bytes overflow size_t.
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    const double wanted = static_cast<double>(n) * sizeof(T);
    if (n > (SIZE_MAX - kAlignment) / sizeof(T))
      throw AllocationError("fastnn cannot allocate " + byte_text(wanted) +
                            ": more than the address space");
    std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    void* p           = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr)
      throw AllocationError("fastnn could not allocate " + byte_text(wanted) + " (" +
                            std::to_string(bytes) + " bytes)");
    std::free(data_);
    data_     = static_cast<T*>(p);
    capacity_ = n;
  }
  void zero() {
    if (data_) std::memset(data_, 0, capacity_ * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  T* data_              = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace fastnn::runtime
