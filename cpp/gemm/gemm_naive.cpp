#include <cmath>
#include <stdexcept>

#include "gemm/gemm.h"

namespace fastnn::gemm {

namespace {

// The oracle keeps its own scalar activation helpers on purpose: it must not
// share code with the implementation it checks (pack_ref.cpp has the twin).
using ops::ActivationKind;

float derivative_from_output(ActivationKind act, float y) {
  switch (act) {
    case ActivationKind::linear:
      return 1.0f;
    case ActivationKind::relu:
      return y <= 0.0f ? 0.0f : 1.0f;
    case ActivationKind::sigmoid:
      return y * (1.0f - y);
    case ActivationKind::tanh:
      return 1.0f - y * y;
    default:
      throw std::invalid_argument("sgemm prologue: unsupported activation");
  }
}

float apply_activation(ActivationKind act, float x) {
  switch (act) {
    case ActivationKind::linear:
      return x;
    case ActivationKind::relu:
      return x < 0.0f ? 0.0f : x;
    case ActivationKind::sigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case ActivationKind::tanh:
      return std::tanh(x);
    default:
      throw std::invalid_argument("sgemm epilogue: unsupported activation");
  }
}

}  // namespace

void sgemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc, const Epilogue* epilogue, const Prologue* prologue_a,
                 const Prologue* prologue_b) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        if (prologue_a && prologue_a->act != ActivationKind::linear)
          av *= derivative_from_output(prologue_a->act, prologue_a->y[i * prologue_a->ld_y + p]);
        if (prologue_b && prologue_b->act != ActivationKind::linear)
          bv *= derivative_from_output(prologue_b->act, prologue_b->y[p * prologue_b->ld_y + j]);
        acc += av * bv;
      }
      float v = alpha * acc;
      if (beta != 0.0f) v += beta * c[i * ldc + j];
      if (epilogue) {
        if (epilogue->bias) v += epilogue->bias[j];
        if (epilogue->pre_activation) epilogue->pre_activation[i * epilogue->ld_pre + j] = v;
        v = apply_activation(epilogue->act, v);
      }
      c[i * ldc + j] = v;
    }
  }
}

}  // namespace fastnn::gemm
