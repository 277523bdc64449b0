// Losses with their gradient in one pass, and accuracy counts, as Keras 3
// defines them (keras/src/losses/losses.py, keras/src/metrics/accuracy_metrics.py).
//
// out is the network output, rows x cols row-major. Targets are either
// `target` (rows x cols floats; every loss but sparse categorical
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
//   mean_absolute_percentage_error  l_r = mean_j 100 |o - t| / max(|t|, 1e-7)
//   mean_squared_logarithmic_error  l_r = mean_j (log(max(o, 1e-7) + 1) - log(max(t, 1e-7) + 1))^2
//   log_cosh             l_r = mean_j e + softplus(-2 e) - log 2, e = o - t (= |e| +
//                        log1p(exp(-2 |e|)) - log 2, no overflow; gradient tanh(e))
//   kl_divergence        l_r = sum_j T log(T / P), T = clip(t, 1e-7, 1), P = clip(o, 1e-7, 1)
//   poisson              l_r = mean_j o - t log(o + 1e-7)   (o + 1e-7 <= 0 gives NaN, as Keras)
//   hinge                l_r = mean_j max(1 - t o, 0)
//   squared_hinge        l_r = mean_j max(1 - t o, 0)^2
//                        (both: when every target of the call is 0 or 1, t <- 2 t - 1 first,
//                        Keras's convert_binary_labels_to_hinge over the whole batch)
//   categorical_hinge    l_r = max(max_j (1 - t_j) o_j - sum_j t_j o_j + 1, 0)
//   cosine_similarity    l_r = -sum_j n(t)_j n(o)_j, n(x) = x min(1 / |x|_2, 1e7)
//                        (Keras's l2 normalize: x * min(rsqrt(sum x^2), 1 / epsilon); a
//                        zero row is 0; where the 1e7 cap is active the derivative
//                        through it is 0, as a clamp's: autograd gives NaN there)
//   binary_focal_crossentropy(alpha, gamma, apply_class_balancing)
//                        l_r = mean_j b (1 - p_t)^gamma bce(t, clip(p, 1e-7, 1 - 1e-7)),
//                        p_t = t p + (1 - t)(1 - p) (p unclipped, as Keras),
//                        b = t alpha + (1 - t)(1 - alpha) with class balancing, else 1;
//                        from_logits: p = sigmoid(z) first (then the same formula, clip
//                        included, as Keras)
//   categorical_focal_crossentropy(alpha, gamma)
//                        l_r = -sum_j alpha_j (1 - c_j)^gamma t_j log c_j,
//                        alpha_j = class_alpha[j] (Keras's list alpha, one per
//                        class) or alpha for every class,
//                        c = clip(o / sum_k o_k, 1e-7, 1 - 1e-7);
//                        from_logits: o = softmax(z) first (then the same formula)
//                        (the focal gradients are the chain rule through that
//                        formula, d(u^gamma) = 0 for gamma == 0 as torch's pow)
// (keras/src/losses/losses.py; 1e-7 is the float32 epsilon, compared in float32 as Keras.)
// Label smoothing ls in [0, 1] (the binary and categorical cross-entropies,
// focal ones included, as Keras 3) replaces the target first: binary
// t <- t (1 - ls) + ls / 2, categorical t <- t (1 - ls) + ls / cols.
// dout (rows x cols), when not null, is OVERWRITTEN with d loss / d out
// (exact derivative of the formula above; where a clip is active the
// derivative through it is 0, as in PyTorch/TensorFlow clamp; at the clip
// limit itself, and where a hinge's max(m, 0) has m == 0, the derivative
// passes, as clamp and TensorFlow's maximum give it; categorical_hinge's
// max_j splits its derivative evenly between tied j, as reduce_max/amax). With
// from_logits the gradients are the stable closed forms
// (sigmoid(z) - t) w / (rows cols) and (softmax(z) sum t - t) w / rows.
// Sums are accumulated in double in row order: the result does not depend on
// the thread count. Returns the loss (0 when rows == 0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fastnn::ops {

enum class LossKind : int {
  mean_squared_error = 0,
  mean_absolute_error,
  huber,
  binary_crossentropy,
  categorical_crossentropy,
  sparse_categorical_crossentropy,
  mean_absolute_percentage_error,
  mean_squared_logarithmic_error,
  log_cosh,
  kl_divergence,
  poisson,
  hinge,
  squared_hinge,
  categorical_hinge,
  cosine_similarity,
  binary_focal_crossentropy,
  categorical_focal_crossentropy,
};

constexpr float kProbEpsilon = 1e-7f;  // keras.config.epsilon()
// The upper clip of probabilities, 1 - epsilon as Keras's float32 clip holds
// it (0.99999988): log(1 - p) of a saturated p is log(1.19e-7), as in Keras.
constexpr float kProbOneMinusEpsilon = static_cast<float>(1.0 - static_cast<double>(kProbEpsilon));

// Keras names and aliases ("mse", "mae", "huber_loss", "bce", "cce", "scce",
// "mape", "msle", "logcosh", "kld", "kullback_leibler_divergence").
// Throws std::invalid_argument naming the valid names.
LossKind loss_from_name(const std::string& name);
const char* loss_name(LossKind kind);

struct LossConfig {
  LossKind kind         = LossKind::mean_squared_error;
  bool from_logits      = false;  // cross-entropies only
  float delta           = 1.0f;   // huber only
  float label_smoothing = 0.0f;   // binary / categorical (focal) cross-entropy, in [0, 1]
  // the focal cross-entropies (Keras's defaults)
  float alpha                = 0.25f;
  float gamma                = 2.0f;
  bool apply_class_balancing = false;  // binary_focal_crossentropy only
  // categorical_focal_crossentropy only: one alpha per class (cols values),
  // in place of `alpha`; empty: `alpha` for every class
  std::vector<float> class_alpha;
};

// Throws std::invalid_argument for delta <= 0, label_smoothing outside
// [0, 1], label_smoothing != 0 with another loss, a focal loss's alpha
// or gamma not finite, or class_alpha with another loss than
// categorical_focal_crossentropy or a value that is not finite.
void check_loss_config(const LossConfig& config);
// Throws std::invalid_argument when class_alpha is not empty and holds
// another number of values than `cols` (the classes).
void check_class_alpha(const LossConfig& config, int64_t cols);

double loss_forward_backward(const LossConfig& config, const float* out, const float* target,
                             const int32_t* labels, const float* sample_weight, int64_t rows,
                             int64_t cols, float* dout);

// Metrics (keras.metrics.*), as weighted sums over the rows:
//   returns sum_r w_r * v_r where (argmax takes the first maximum)
//   sparse_categorical_accuracy        v_r = [argmax_j out[r] == label[r]]
//   categorical_accuracy               v_r = [argmax_j out[r] == argmax_j target[r]]
//   binary_accuracy(threshold)         v_r = mean_j [(out[r, j] > threshold) == target[r, j]]
//   top_k_categorical_accuracy(k)      v_r = [#{j : out[r, j] > out[r, c]} < k], c = argmax_j
//   target[r] sparse_top_k_categorical_accuracy(k)   the same with c = label[r] mean_squared_error
//   v_r = mean_j (out[r, j] - target[r, j])^2 mean_absolute_error                v_r = mean_j
//   |out[r, j] - target[r, j]|
// Top-k counts ties as Keras's in_top_k does (the class is in the top k when
// its score is >= the k-th largest score); a NaN score at c is a miss. The
// Keras metric value is this sum divided by sum_r w_r (rows when
// sample_weight is null). One pass over rows x cols, double accumulators in
// row order: independent of the thread count.
enum class MetricKind : int {
  sparse_categorical_accuracy = 0,
  categorical_accuracy,
  binary_accuracy,
  top_k_categorical_accuracy,
  sparse_top_k_categorical_accuracy,
  mean_squared_error,
  mean_absolute_error,
  // Keras's confusion counts over every output element: the label counts as
  // positive when nonzero, the prediction when above the threshold; summed,
  // not averaged (Precision and Recall are ratios of two of them, formed in
  // Python).
  true_positives,
  false_positives,
  true_negatives,
  false_negatives,
  // The cross-entropy losses as metrics (keras.metrics.BinaryCrossentropy
  // ...): v_r = the loss of row r (from_logits, label_smoothing as the loss
  // takes them), so the metric is its (weighted) mean over the samples.
  binary_crossentropy,
  categorical_crossentropy,
  sparse_categorical_crossentropy,
  // The other Keras losses as metrics (keras.metrics.MeanAbsolutePercentageError,
  // ..., LogCoshError, KLDivergence, Poisson, Hinge ...): v_r = the loss of row r.
  mean_absolute_percentage_error,
  mean_squared_logarithmic_error,
  log_cosh_error,
  kl_divergence,
  poisson,
  hinge,
  squared_hinge,
  categorical_hinge,
  // keras.metrics.CosineSimilarity: v_r = -(the cosine_similarity loss of row r).
  cosine_similarity,
  // The vector metrics: one pass gives metric_vector_size(kind, cols) sums,
  // and a config returns the one at index `part` (metric_vector_sums gives
  // them all). With w_r the sample weight (1 when unweighted):
  //   r2_sums (keras.metrics.R2Score), 3 cols + 2 sums:
  //     [j] sum_r w t_rj, [cols + j] sum_r w t_rj^2,
  //     [2 cols + j] sum_r w (t_rj - o_rj)^2, [3 cols] sum_r w, [3 cols + 1] rows
  //   f_score_counts (keras.metrics.FBetaScore), 4 cols sums, p = the 0/1
  //   prediction (o > threshold, or with at_max o >= max_j o_rj and |o| > 1e-9):
  //     [j] sum_r w p t (true positives), [cols + j] sum_r w p (1 - t) (false
  //     positives), [2 cols + j] sum_r w (1 - p) t (false negatives),
  //     [3 cols + j] sum_r w t (support)
  r2_sums,
  f_score_counts,
};

struct MetricConfig {
  MetricKind kind = MetricKind::categorical_accuracy;
  int64_t k       = 5;      // top-k metrics, >= 1
  float threshold = 0.5f;   // binary_accuracy and the confusion counts
  bool weighted   = false;  // averaged with the sample weights (Keras's weighted_metrics)
  // the cross-entropy metrics
  bool from_logits      = false;
  float label_smoothing = 0.0f;
  // the vector metrics
  int64_t part = 0;      // which of the sums metric_sum returns
  bool at_max  = false;  // f_score_counts: Keras's threshold=None (the row's maxima)
  // the confusion counts: predictions clipped to [0, 1] first, as Keras's
  // evenly-spaced-thresholds path (AUC's default) clips them (logits counted
  // at the ends, not beyond the thresholds just outside [0, 1])
  bool clip_to_unit = false;
};

// Canonical Keras metric names (the snake-case class names above). Throws
// std::invalid_argument naming the valid names.
MetricKind metric_from_name(const std::string& name);
const char* metric_name(MetricKind kind);
// True for the metrics that read integer `labels` (the sparse ones), false
// for those that read a `target` array.
bool metric_takes_labels(MetricKind kind);

double metric_sum(const MetricConfig& config, const float* out, const float* target,
                  const int32_t* labels, const float* sample_weight, int64_t rows, int64_t cols);

// How many sums a vector metric (r2_sums, f_score_counts) gives for cols
// outputs; 0 for the other metrics.
int64_t metric_vector_size(MetricKind kind, int64_t cols);

// All metric_vector_size(config.kind, cols) sums of a vector metric,
// OVERWRITTEN in sums; one pass over the rows in order, in double.
void metric_vector_sums(const MetricConfig& config, const float* out, const float* target,
                        const float* sample_weight, int64_t rows, int64_t cols, double* sums);

// True for the four confusion counts (true/false positives/negatives).
bool is_confusion_count(MetricKind kind);

// The loss a loss-valued metric computes (the cross-entropies with their
// from_logits and label_smoothing, and the losses above); false for the
// other metrics.
bool metric_loss(const MetricConfig& metric, LossConfig* loss);

// True for binary, categorical and sparse categorical cross-entropy.
bool is_crossentropy(LossKind kind);

// The confusion counts of `kind` at n nondecreasing thresholds in one pass:
// sums[i] = metric_sum({kind, threshold = thresholds[i]}, ...) up to the
// order of the double additions (exact without sample weights). Each output
// element falls in the bucket b = #{i : thresholds[i] < out} (0 for NaN), the
// label's weight is added to pos[b] or neg[b], and suffix or prefix sums of
// the buckets give the counts: AUC's 4 x 200 counts cost four passes instead
// of 800. `buckets` holds 2 * (n + 1) doubles of scratch. With clip_to_unit
// each output is clipped to [0, 1] first (MetricConfig::clip_to_unit).
void confusion_sums_sorted(MetricKind kind, const float* thresholds, int64_t n, const float* out,
                           const float* target, const float* sample_weight, int64_t rows,
                           int64_t cols, double* buckets, double* sums, bool clip_to_unit = false);

// `value` clipped to [0, 1] (NaN stays NaN, as ops.clip keeps it).
inline float clipped_to_unit(float value) {
  return value < 0.0f ? 0.0f : (value > 1.0f ? 1.0f : value);
}

}  // namespace fastnn::ops
