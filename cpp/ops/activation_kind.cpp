#include "ops/activation_kind.h"

#include <stdexcept>

namespace fastnn::ops {

namespace {
struct NamedKind {
  const char* name;
  ActivationKind kind;
};
constexpr NamedKind kNames[] = {
    {"linear", ActivationKind::linear},
    {"relu", ActivationKind::relu},
    {"sigmoid", ActivationKind::sigmoid},
    {"tanh", ActivationKind::tanh},
    {"softmax", ActivationKind::softmax},
    {"leaky_relu", ActivationKind::leaky_relu},
    {"elu", ActivationKind::elu},
    {"selu", ActivationKind::selu},
    {"gelu", ActivationKind::gelu},
    {"gelu_exact", ActivationKind::gelu_exact},
    {"silu", ActivationKind::silu},
    {"softplus", ActivationKind::softplus},
    {"softsign", ActivationKind::softsign},
    {"hard_sigmoid", ActivationKind::hard_sigmoid},
    {"exponential", ActivationKind::exponential},
    {"relu_clipped", ActivationKind::relu_clipped},
    {"mish", ActivationKind::mish},
    {"hard_silu", ActivationKind::hard_silu},
    {"celu", ActivationKind::celu},
    {"hard_tanh", ActivationKind::hard_tanh},
    {"log_sigmoid", ActivationKind::log_sigmoid},
    {"soft_shrink", ActivationKind::soft_shrink},
    {"hard_shrink", ActivationKind::hard_shrink},
    {"tanh_shrink", ActivationKind::tanh_shrink},
    {"squareplus", ActivationKind::squareplus},
    {"sparse_plus", ActivationKind::sparse_plus},
    {"sparse_sigmoid", ActivationKind::sparse_sigmoid},
    {"log_softmax", ActivationKind::log_softmax},
};
}  // namespace

ActivationKind activation_from_name(const std::string& name) {
  if (name == "swish") return ActivationKind::silu;
  if (name == "hard_swish") return ActivationKind::hard_silu;
  for (const auto& n : kNames)
    if (name == n.name) return n.kind;
  std::string valid;
  for (const auto& n : kNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("Unknown activation '" + name + "'; expected one of: " + valid +
                              ", swish");
}

const char* activation_name(ActivationKind kind) {
  for (const auto& n : kNames)
    if (n.kind == kind) return n.name;
  return "unknown";
}

}  // namespace fastnn::ops
