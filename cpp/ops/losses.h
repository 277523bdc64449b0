// Losses with their gradient in one pass, and accuracy counts, as Keras 3
// defines them (keras/src/losses/losses.py, keras/src/metrics/accuracy_metrics.py).
//
// out is the network output, rows x cols row-major. Targets are either
// `target` (rows x cols floats; mse, mae, huber, binary and categorical
// cross-entropy) or `labels` (rows int32 class ids in [0, cols); sparse
// categorical cross-entropy). `sample_weight` (rows floats) may be null
// (all ones).
//
// Per-sample loss l_r, then the Keras reduction "sum_over_batch_size":
//   loss = sum_r w_r * l_r / rows            (divided by rows, not by sum w)
//   mean_squared_error   l_r = mean_j (o - t)^2
//   mean_absolute_error  l_r = mean_j |o - t|
//   huber(delta)         l_r = mean_j (|e| <= delta ? e^2 / 2 : delta |e| - delta^2 / 2), e = o - t
//   binary_crossentropy  l_r = mean_j -(t log p + (1 - t) log(1 - p)), p = clip(o, 1e-7, 1 - 1e-7);
//                        from_logits: mean_j max(z, 0) - z t + log1p(exp(-|z|))
//   categorical_crossentropy  l_r = -sum_j t_j log clip(o_j / sum_k o_k, 1e-7, 1 - 1e-7);
//                        from_logits: sum_j t_j * (logsumexp(z) - z_j)
//   sparse_categorical_crossentropy: the categorical forms with t = onehot(label).
// dout (rows x cols), when not null, is OVERWRITTEN with d loss / d out
// (exact derivative of the formula above; where a clip is active the
// derivative through it is 0, as in PyTorch/TensorFlow clamp). With
// from_logits the gradients are the stable closed forms
// (sigmoid(z) - t) w / (rows cols) and (softmax(z) sum t - t) w / rows.
// Sums are accumulated in double in row order: the result does not depend on
// the thread count. Returns the loss (0 when rows == 0).
#pragma once

#include <cstdint>
#include <string>

namespace fastnn::ops {

enum class LossKind : int {
  mean_squared_error = 0,
  mean_absolute_error,
  huber,
  binary_crossentropy,
  categorical_crossentropy,
  sparse_categorical_crossentropy,
};

constexpr float kProbEpsilon = 1e-7f;  // keras.config.epsilon()

// Keras names and aliases ("mse", "mae", "huber_loss", "bce", "cce", "scce", ...).
// Throws std::invalid_argument naming the valid names.
LossKind loss_from_name(const std::string& name);
const char* loss_name(LossKind kind);

struct LossConfig {
  LossKind kind    = LossKind::mean_squared_error;
  bool from_logits = false;  // cross-entropies only
  float delta      = 1.0f;   // huber only
};

double loss_forward_backward(const LossConfig& config, const float* out, const float* target,
                             const int32_t* labels, const float* sample_weight, int64_t rows,
                             int64_t cols, float* dout);

// Accuracy metrics (keras.metrics.*Accuracy), as weighted counts:
//   returns sum_r w_r * v_r where
//   sparse_categorical_accuracy  v_r = [argmax_j out[r] == label[r]]
//   categorical_accuracy         v_r = [argmax_j out[r] == argmax_j target[r]]
//   binary_accuracy              v_r = mean_j [(out[r, j] > threshold) == target[r, j]]
// (argmax takes the first maximum). The Keras metric value is this sum
// divided by sum_r w_r (rows when sample_weight is null).
enum class MetricKind : int {
  sparse_categorical_accuracy = 0,
  categorical_accuracy,
  binary_accuracy,
};

MetricKind metric_from_name(const std::string& name);
const char* metric_name(MetricKind kind);

double accuracy_sum(MetricKind kind, const float* out, const float* target, const int32_t* labels,
                    const float* sample_weight, int64_t rows, int64_t cols, float threshold = 0.5f);

}  // namespace fastnn::ops
