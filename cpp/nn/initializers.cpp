#include "nn/initializers.h"

#include <cctype>
#include <cmath>
#include <stdexcept>

namespace fastnn::nn {

namespace {

struct NamedInit {
  const char* name;
  InitKind kind;
};
constexpr NamedInit kInitNames[] = {
    {"zeros", InitKind::zeros},
    {"ones", InitKind::ones},
    {"constant", InitKind::constant},
    {"random_normal", InitKind::random_normal},
    {"random_uniform", InitKind::random_uniform},
    {"truncated_normal", InitKind::truncated_normal},
    {"glorot_uniform", InitKind::glorot_uniform},
    {"glorot_normal", InitKind::glorot_normal},
    {"he_uniform", InitKind::he_uniform},
    {"he_normal", InitKind::he_normal},
    {"lecun_uniform", InitKind::lecun_uniform},
    {"lecun_normal", InitKind::lecun_normal},
};

// "GlorotUniform" -> "glorot_uniform"
std::string snake_case(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i > 0 && s[i - 1] != '_') out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

constexpr double kTruncatedStddevCorrection = 0.87962566103423978;
constexpr double kTwoPi                     = 6.283185307179586;

// Standard normal draw number `k` for element i (Box-Muller on two uniforms
// in (0, 1]).
double normal_draw(uint64_t seed, uint64_t i, uint64_t k) {
  const uint64_t base = mix64(seed ^ mix64(i * 0x9E3779B97F4A7C15ull + k));
  const double u1     = (static_cast<double>(mix64(base) >> 11) + 1.0) * 0x1.0p-53;
  const double u2     = static_cast<double>(mix64(base + 1) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

double uniform_draw(uint64_t seed, uint64_t i) {
  return static_cast<double>(mix64(seed ^ mix64(i * 0x9E3779B97F4A7C15ull)) >> 11) * 0x1.0p-53;
}

void fill_uniform(float* out, int64_t n, uint64_t seed, double lo, double hi) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(lo + (hi - lo) * uniform_draw(seed, static_cast<uint64_t>(i)));
}

void fill_normal(float* out, int64_t n, uint64_t seed, double mean, double stddev, bool truncated) {
  for (int64_t i = 0; i < n; ++i) {
    double z = normal_draw(seed, static_cast<uint64_t>(i), 0);
    for (uint64_t k = 1; truncated && std::fabs(z) > 2.0; ++k)
      z = normal_draw(seed, static_cast<uint64_t>(i), k);
    out[i] = static_cast<float>(mean + stddev * z);
  }
}

}  // namespace

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

InitKind init_from_name(const std::string& name) {
  const std::string key = snake_case(name);
  for (const auto& n : kInitNames)
    if (key == n.name) return n.kind;
  std::string valid;
  for (const auto& n : kInitNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("Unknown initializer '" + name + "'; expected one of: " + valid);
}

void initialize(InitKind kind, float* out, int64_t n, int64_t fan_in, int64_t fan_out,
                uint64_t seed, double a, double b) {
  const double fi  = static_cast<double>(fan_in > 0 ? fan_in : 1);
  const double fo  = static_cast<double>(fan_out > 0 ? fan_out : 1);
  const double avg = (fi + fo) / 2.0;
  switch (kind) {
    case InitKind::zeros:
      for (int64_t i = 0; i < n; ++i) out[i] = 0.0f;
      break;
    case InitKind::ones:
      for (int64_t i = 0; i < n; ++i) out[i] = 1.0f;
      break;
    case InitKind::constant:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(a);
      break;
    case InitKind::random_normal:
      fill_normal(out, n, seed, a, b, false);
      break;
    case InitKind::truncated_normal:
      fill_normal(out, n, seed, a, b, true);
      break;
    case InitKind::random_uniform:
      fill_uniform(out, n, seed, a, b);
      break;
    case InitKind::glorot_uniform: {
      const double lim = std::sqrt(3.0 / avg);  // sqrt(6 / (fan_in + fan_out))
      fill_uniform(out, n, seed, -lim, lim);
      break;
    }
    case InitKind::he_uniform: {
      const double lim = std::sqrt(6.0 / fi);
      fill_uniform(out, n, seed, -lim, lim);
      break;
    }
    case InitKind::lecun_uniform: {
      const double lim = std::sqrt(3.0 / fi);
      fill_uniform(out, n, seed, -lim, lim);
      break;
    }
    case InitKind::glorot_normal:
      fill_normal(out, n, seed, 0.0, std::sqrt(1.0 / avg) / kTruncatedStddevCorrection, true);
      break;
    case InitKind::he_normal:
      fill_normal(out, n, seed, 0.0, std::sqrt(2.0 / fi) / kTruncatedStddevCorrection, true);
      break;
    case InitKind::lecun_normal:
      fill_normal(out, n, seed, 0.0, std::sqrt(1.0 / fi) / kTruncatedStddevCorrection, true);
      break;
  }
}

}  // namespace fastnn::nn
