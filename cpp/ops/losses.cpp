// Losses and metrics: one scalar pass per row (rows x classes is
// small next to the GEMMs that produce it), double accumulators in row order.
#include "ops/losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ops/elementwise.h"
#include "runtime/team.h"
#include "runtime/threads.h"

namespace fastnn::ops {

namespace {

// Below this many output elements a batch's loss runs on one thread.
constexpr int64_t kParallelLossElements = 1 << 15;
// The same inside a team session, for the cross-entropies (see loss_forward_backward).
constexpr int64_t kTeamParallelLossElements = 1 << 10;

struct NamedLoss {
  const char* name;
  LossKind kind;
};
constexpr NamedLoss kLossNames[] = {
    {"mean_squared_error", LossKind::mean_squared_error},
    {"mean_absolute_error", LossKind::mean_absolute_error},
    {"huber", LossKind::huber},
    {"binary_crossentropy", LossKind::binary_crossentropy},
    {"categorical_crossentropy", LossKind::categorical_crossentropy},
    {"sparse_categorical_crossentropy", LossKind::sparse_categorical_crossentropy},
    {"mse", LossKind::mean_squared_error},
    {"mae", LossKind::mean_absolute_error},
    {"huber_loss", LossKind::huber},
    {"bce", LossKind::binary_crossentropy},
    {"cce", LossKind::categorical_crossentropy},
    {"scce", LossKind::sparse_categorical_crossentropy},
    {"mean_absolute_percentage_error", LossKind::mean_absolute_percentage_error},
    {"mean_squared_logarithmic_error", LossKind::mean_squared_logarithmic_error},
    {"log_cosh", LossKind::log_cosh},
    {"kl_divergence", LossKind::kl_divergence},
    {"poisson", LossKind::poisson},
    {"hinge", LossKind::hinge},
    {"squared_hinge", LossKind::squared_hinge},
    {"categorical_hinge", LossKind::categorical_hinge},
    {"mape", LossKind::mean_absolute_percentage_error},
    {"msle", LossKind::mean_squared_logarithmic_error},
    {"logcosh", LossKind::log_cosh},
    {"kld", LossKind::kl_divergence},
    {"kullback_leibler_divergence", LossKind::kl_divergence},
    {"cosine_similarity", LossKind::cosine_similarity},
    {"binary_focal_crossentropy", LossKind::binary_focal_crossentropy},
    {"categorical_focal_crossentropy", LossKind::categorical_focal_crossentropy},
};

struct NamedMetric {
  const char* name;
  MetricKind kind;
};
constexpr NamedMetric kMetricNames[] = {
    {"sparse_categorical_accuracy", MetricKind::sparse_categorical_accuracy},
    {"categorical_accuracy", MetricKind::categorical_accuracy},
    {"binary_accuracy", MetricKind::binary_accuracy},
    {"top_k_categorical_accuracy", MetricKind::top_k_categorical_accuracy},
    {"sparse_top_k_categorical_accuracy", MetricKind::sparse_top_k_categorical_accuracy},
    {"mean_squared_error", MetricKind::mean_squared_error},
    {"mean_absolute_error", MetricKind::mean_absolute_error},
    {"true_positives", MetricKind::true_positives},
    {"false_positives", MetricKind::false_positives},
    {"true_negatives", MetricKind::true_negatives},
    {"false_negatives", MetricKind::false_negatives},
    {"binary_crossentropy", MetricKind::binary_crossentropy},
    {"categorical_crossentropy", MetricKind::categorical_crossentropy},
    {"sparse_categorical_crossentropy", MetricKind::sparse_categorical_crossentropy},
    {"mean_absolute_percentage_error", MetricKind::mean_absolute_percentage_error},
    {"mean_squared_logarithmic_error", MetricKind::mean_squared_logarithmic_error},
    {"log_cosh_error", MetricKind::log_cosh_error},
    {"kl_divergence", MetricKind::kl_divergence},
    {"poisson", MetricKind::poisson},
    {"hinge", MetricKind::hinge},
    {"squared_hinge", MetricKind::squared_hinge},
    {"categorical_hinge", MetricKind::categorical_hinge},
    {"cosine_similarity", MetricKind::cosine_similarity},
    {"r2_sums", MetricKind::r2_sums},
    {"f_score_counts", MetricKind::f_score_counts},
};

// The metrics that are a loss of the same name (the cross-entropies take
// from_logits and label_smoothing besides).
struct MetricAsLoss {
  MetricKind metric;
  LossKind loss;
};
constexpr MetricAsLoss kMetricLosses[] = {
    {MetricKind::binary_crossentropy, LossKind::binary_crossentropy},
    {MetricKind::categorical_crossentropy, LossKind::categorical_crossentropy},
    {MetricKind::sparse_categorical_crossentropy, LossKind::sparse_categorical_crossentropy},
    {MetricKind::mean_absolute_percentage_error, LossKind::mean_absolute_percentage_error},
    {MetricKind::mean_squared_logarithmic_error, LossKind::mean_squared_logarithmic_error},
    {MetricKind::log_cosh_error, LossKind::log_cosh},
    {MetricKind::kl_divergence, LossKind::kl_divergence},
    {MetricKind::poisson, LossKind::poisson},
    {MetricKind::hinge, LossKind::hinge},
    {MetricKind::squared_hinge, LossKind::squared_hinge},
    {MetricKind::categorical_hinge, LossKind::categorical_hinge},
    {MetricKind::cosine_similarity, LossKind::cosine_similarity},  // (negated)
};

inline double sigmoid_d(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

inline int64_t argmax_row(const float* v, int64_t cols) {
  int64_t best = 0;
  for (int64_t j = 1; j < cols; ++j)
    if (v[j] > v[best]) best = j;
  return best;
}

// Row r of a categorical target: target[r] or onehot(labels[r]).
inline double target_at(const float* target, const int32_t* labels, int64_t r, int64_t cols,
                        int64_t j) {
  return labels ? (labels[r] == j ? 1.0 : 0.0) : static_cast<double>(target[r * cols + j]);
}

// Row r of a categorical target, label-smoothed: t (1 - ls) + ls / cols.
inline double smoothed_at(const float* target, const int32_t* labels, int64_t r, int64_t cols,
                          int64_t j, double ls) {
  const double t = target_at(target, labels, r, cols, j);
  return ls == 0.0 ? t : t * (1.0 - ls) + ls / static_cast<double>(cols);
}

// max(z[0], ..., z[cols - 1]) as std::max taken left to right gives it: a NaN
// z[0] is the result, a later NaN is passed over. Four running maxima (each
// starting from z[0]) break the chain of dependent compares; max is exact, so
// the result is the same.
inline double row_max(const float* z, int64_t cols) {
  float m4[4] = {z[0], z[0], z[0], z[0]};
  int64_t j   = 1;
  for (; j + 4 <= cols; j += 4)
    for (int q = 0; q < 4; ++q) m4[q] = std::max(m4[q], z[j + q]);
  for (; j < cols; ++j) m4[0] = std::max(m4[0], z[j]);
  return std::max(std::max(m4[0], m4[1]), std::max(m4[2], m4[3]));
}

// A per-thread scratch row of n doubles, grown once to the widest row.
double* scratch_row(int64_t n) {
  thread_local std::vector<double> scratch;
  if (scratch.size() < static_cast<size_t>(n)) scratch.resize(static_cast<size_t>(n));
  return scratch.data();
}

double categorical_logits(const float* z, const float* target, const int32_t* labels, int64_t r,
                          int64_t cols, double ls, double scale, float* dz) {
  const double m = row_max(z, cols);
  // exp(z_j - m) once per element, in double, by the ISA's vector kernel
  // (std::exp per element took ~7 ns: 11 us of a 128 x 10 loss), kept for
  // the gradient: on the stack for rows of up to 64, else in a per-thread
  // buffer grown once to the widest row.
  constexpr int64_t kStackExps = 64;
  double stack_exps[kStackExps];
  double* kept = stack_exps;
  if (cols > kStackExps) kept = scratch_row(cols);
  elementwise_kernels().exp_shifted(kept, z, m, cols);
  double s = 0.0;
  for (int64_t j = 0; j < cols; ++j) s += kept[j];
  // everything relative to m: m + log(s) would lose log(s) when |m| ~ 1e30
  const double log_s = std::log(s);
  if (labels && ls == 0.0) {
    // One-hot target: t = 1 at the label, so tsum = 1, the loss is its one
    // term and dz_j = (p_j * 1 - t_j) * scale is p_j * scale off the label:
    // the general loop's values, in a loop the compiler vectorizes.
    const int64_t label = labels[r];
    if (dz) {
      for (int64_t j = 0; j < cols; ++j) dz[j] = static_cast<float>(kept[j] / s * scale);
      dz[label] = static_cast<float>((kept[label] / s - 1.0) * scale);
    }
    return log_s - (static_cast<double>(z[label]) - m);
  }
  double loss = 0.0, tsum = 0.0;
  for (int64_t j = 0; j < cols; ++j) {
    const double t = smoothed_at(target, labels, r, cols, j, ls);
    if (t != 0.0) loss += t * (log_s - (static_cast<double>(z[j]) - m));
    tsum += t;
  }
  if (dz)
    for (int64_t j = 0; j < cols; ++j) {
      const double p = kept[j] / s;
      dz[j] = static_cast<float>((p * tsum - smoothed_at(target, labels, r, cols, j, ls)) * scale);
    }
  return loss;
}

double categorical_probs(const float* o, const float* target, const int32_t* labels, int64_t r,
                         int64_t cols, double ls, double scale, float* dout) {
  const double eps = kProbEpsilon, one_m_eps = kProbOneMinusEpsilon;
  double s = 0.0;
  for (int64_t j = 0; j < cols; ++j) s += o[j];
  double loss = 0.0, gq = 0.0;
  for (int64_t j = 0; j < cols; ++j) {
    const double t = smoothed_at(target, labels, r, cols, j, ls);
    const double q = o[j] / s;
    const double c = std::min(std::max(q, eps), one_m_eps);
    if (t != 0.0) loss -= t * std::log(c);
    const double g = (q >= eps && q <= one_m_eps) ? -t / c : 0.0;
    gq += g * q;
    if (dout) dout[j] = static_cast<float>(g);  // d loss / d q_j for now
  }
  if (dout)
    for (int64_t j = 0; j < cols; ++j) dout[j] = static_cast<float>((dout[j] - gq) / s * scale);
  return loss;
}

// Keras's binary_focal_crossentropy of one element: t the (smoothed) target,
// p the probability (unclipped); returns the value and sets *dp = d value / d p.
// bce is on clip(p), the focal factor (1 - p_t)^gamma on p itself, as Keras.
inline double binary_focal_element(double t, double p, double alpha, double gamma, bool balance,
                                   double* dp) {
  const double eps = kProbEpsilon, one_m_eps = kProbOneMinusEpsilon;
  const double c    = std::min(std::max(p, eps), one_m_eps);
  const double bce  = -(t * std::log(c) + (1.0 - t) * std::log(1.0 - c));
  const double dbce = (p >= eps && p <= one_m_eps) ? -t / c + (1.0 - t) / (1.0 - c) : 0.0;
  const double u    = 1.0 - (t * p + (1.0 - t) * (1.0 - p));  // 1 - p_t, du / dp = 1 - 2t
  const double f    = std::pow(u, gamma);
  // torch's pow backward is 0 for a 0 exponent (u^-1 may be inf)
  const double df = gamma == 0.0 ? 0.0 : gamma * std::pow(u, gamma - 1.0) * (1.0 - 2.0 * t);
  const double b  = balance ? t * alpha + (1.0 - t) * (1.0 - alpha) : 1.0;
  *dp             = b * (df * bce + f * dbce);
  return b * f * bce;
}

// Keras's categorical_focal_crossentropy of row r: p (cols probabilities, not
// necessarily normalised) in, -sum_j alpha_j (1 - c_j)^gamma t_j log c_j out,
// c = clip(p / sum p), alpha_j = class_alpha[j] (when not null) or alpha; dp
// (when not null) OVERWRITTEN with d loss / d p.
double categorical_focal_row(const double* p, const float* target, int64_t r, int64_t cols,
                             double ls, double alpha, const float* class_alpha, double gamma,
                             double* dp) {
  const double eps = kProbEpsilon, one_m_eps = kProbOneMinusEpsilon;
  double s = 0.0;
  for (int64_t j = 0; j < cols; ++j) s += p[j];
  double loss = 0.0, gq = 0.0;
  for (int64_t j = 0; j < cols; ++j) {
    const double t  = smoothed_at(target, nullptr, r, cols, j, ls);
    const double a  = class_alpha ? static_cast<double>(class_alpha[j]) : alpha;
    const double q  = p[j] / s;
    const double c  = std::min(std::max(q, eps), one_m_eps);
    const double lc = std::log(c);
    const double m  = std::pow(1.0 - c, gamma);
    loss -= a * m * t * lc;
    if (!dp) continue;
    // d / dc of a (1 - c)^gamma (-t log c); 1 - c >= 1.19e-7
    const double dm = gamma == 0.0 ? 0.0 : -gamma * std::pow(1.0 - c, gamma - 1.0);
    const double g  = (q >= eps && q <= one_m_eps) ? a * t * (-dm * lc - m / c) : 0.0;
    gq += g * q;
    dp[j] = g;  // d loss / d q_j for now
  }
  if (dp)
    for (int64_t j = 0; j < cols; ++j) dp[j] = (dp[j] - gq) / s;
  return loss;
}

// categorical_focal_row on out's row r (probabilities, or logits through a
// softmax with from_logits); d (when not null) gets d loss / d out times scale.
double categorical_focal(const LossConfig& config, const float* o, const float* target, int64_t r,
                         int64_t cols, double scale, float* d) {
  double* p  = scratch_row(2 * cols);
  double* dp = d ? p + cols : nullptr;
  if (config.from_logits) {
    elementwise_kernels().exp_shifted(p, o, row_max(o, cols), cols);
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) s += p[j];
    for (int64_t j = 0; j < cols; ++j) p[j] /= s;
  } else {
    for (int64_t j = 0; j < cols; ++j) p[j] = o[j];
  }
  const float* class_alpha = config.class_alpha.empty() ? nullptr : config.class_alpha.data();
  const double loss        = categorical_focal_row(p, target, r, cols, config.label_smoothing,
                                                   config.alpha, class_alpha, config.gamma, dp);
  if (!d) return loss;
  double pdp = 0.0;  // softmax's backward: dz_k = p_k (dp_k - sum_j p_j dp_j)
  if (config.from_logits)
    for (int64_t j = 0; j < cols; ++j) pdp += p[j] * dp[j];
  for (int64_t j = 0; j < cols; ++j)
    d[j] = static_cast<float>((config.from_logits ? p[j] * (dp[j] - pdp) : dp[j]) * scale);
  return loss;
}

// Element j of a loss that is a mean (kl_divergence: a sum) over the row,
// o = out[r, j], t = target[r, j] (the hinges' converted to -1/1 by the
// caller): its value and d value / d o. keras/src/losses/losses.py.
inline double element_loss(LossKind kind, double o, double t, double* grad) {
  const double eps = kProbEpsilon;
  switch (kind) {
    case LossKind::mean_absolute_percentage_error: {
      const double den = std::max(std::fabs(t), eps);
      const double e   = o - t;
      *grad            = (e > 0 ? 100.0 : (e < 0 ? -100.0 : 0.0)) / den;
      return 100.0 * std::fabs(e) / den;
    }
    case LossKind::mean_squared_logarithmic_error: {
      const double p = std::max(o, eps);  // (a NaN o stays NaN)
      const double e = std::log1p(p) - std::log1p(std::max(t, eps));
      *grad          = o >= eps ? 2.0 * e / (1.0 + p) : 0.0;
      return e * e;
    }
    case LossKind::log_cosh: {
      // x + softplus(-2x) - log 2 with softplus(y) = max(y, 0) + log1p(exp(-|y|))
      const double x = o - t, ax = std::fabs(x);
      *grad = std::tanh(x);  // 1 - 2 sigmoid(-2x)
      return ax + std::log1p(std::exp(-2.0 * ax)) - 0.69314718055994530942;
    }
    case LossKind::kl_divergence: {
      const double tc = std::min(std::max(t, eps), 1.0);
      const double pc = std::min(std::max(o, eps), 1.0);
      *grad           = (o >= eps && o <= 1.0) ? -tc / pc : 0.0;
      return tc * std::log(tc / pc);
    }
    case LossKind::poisson:
      *grad = 1.0 - t / (o + eps);
      return o - t * std::log(o + eps);
    case LossKind::hinge: {
      const double m = 1.0 - t * o;
      *grad          = m >= 0.0 ? -t : 0.0;
      return m < 0.0 ? 0.0 : m;  // (NaN stays NaN)
    }
    case LossKind::squared_hinge: {
      const double m = 1.0 - t * o;
      const double h = m < 0.0 ? 0.0 : m;
      *grad          = -2.0 * t * h;
      return h * h;
    }
    default:
      *grad = 0.0;
      return 0.0;
  }
}

// Keras's convert_binary_labels_to_hinge: true when every target is 0 or 1.
bool all_binary(const float* target, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (target[i] != 0.0f && target[i] != 1.0f) return false;
  return true;
}

// max(neg - pos + 1, 0), neg = max_j (1 - t_j) o_j, pos = sum_j t_j o_j.
double categorical_hinge_row(const float* o, const float* t, int64_t cols, double scale, float* d) {
  double pos = 0.0, neg = (1.0 - t[0]) * static_cast<double>(o[0]);
  for (int64_t j = 0; j < cols; ++j) {
    pos += static_cast<double>(t[j]) * o[j];
    const double q = (1.0 - t[j]) * static_cast<double>(o[j]);
    if (q > neg || q != q) neg = q;  // a NaN stays (q > NaN is false)
  }
  const double v = neg - pos + 1.0;
  if (d) {
    int64_t ties = 0;  // the maximum's derivative is shared between equal maxima
    for (int64_t j = 0; j < cols; ++j) ties += (1.0 - t[j]) * static_cast<double>(o[j]) == neg;
    for (int64_t j = 0; j < cols; ++j) {
      const double q = (1.0 - t[j]) * static_cast<double>(o[j]);
      const double g = -static_cast<double>(t[j]) + (q == neg ? (1.0 - t[j]) / ties : 0.0);
      d[j]           = static_cast<float>(v >= 0.0 ? g * scale : 0.0);
    }
  }
  return v < 0.0 ? 0.0 : v;
}

// -sum_j n(t)_j n(o)_j with Keras's n(x) = x min(1 / |x|_2, 1 / epsilon)
// (keras/src/ops/nn.py _normalize: x * minimum(rsqrt(sum x^2), 1 / epsilon)).
// d (when not null) gets d / d o times scale; where the cap holds (|o| <=
// 1e-7, a zero row included) n(o) = 1e7 o and the derivative is -1e7 n(t).
double cosine_similarity_row(const float* o, const float* t, int64_t cols, double scale, float* d) {
  constexpr double kInvEpsilon = 1e7;  // 1 / keras.config.epsilon() in float32
  double so = 0.0, st = 0.0, dot = 0.0;
  for (int64_t j = 0; j < cols; ++j) {
    so += static_cast<double>(o[j]) * o[j];
    st += static_cast<double>(t[j]) * t[j];
    dot += static_cast<double>(t[j]) * o[j];
  }
  const double rt = 1.0 / std::sqrt(st), ro = 1.0 / std::sqrt(so);
  const double it   = rt < kInvEpsilon ? rt : kInvEpsilon;  // (an infinite rsqrt is capped)
  const bool capped = !(ro < kInvEpsilon);
  const double io   = capped ? kInvEpsilon : ro;
  if (d) {
    const double radial = capped ? 0.0 : io * io * io * it * dot;
    for (int64_t j = 0; j < cols; ++j)
      d[j] = static_cast<float>(-(it * io * t[j] - radial * o[j]) * scale);
  }
  return -it * io * dot;
}

}  // namespace

LossKind loss_from_name(const std::string& name) {
  for (const auto& n : kLossNames)
    if (name == n.name) return n.kind;
  std::string valid;
  for (const auto& n : kLossNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("Unknown loss '" + name + "'; expected one of: " + valid);
}

const char* loss_name(LossKind kind) {
  for (const auto& n : kLossNames)
    if (n.kind == kind) return n.name;
  return "unknown";
}

MetricKind metric_from_name(const std::string& name) {
  for (const auto& n : kMetricNames)
    if (name == n.name) return n.kind;
  std::string valid;
  for (const auto& n : kMetricNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("Unknown metric '" + name + "'; expected one of: " + valid);
}

bool metric_takes_labels(MetricKind kind) {
  return kind == MetricKind::sparse_categorical_accuracy ||
         kind == MetricKind::sparse_top_k_categorical_accuracy ||
         kind == MetricKind::sparse_categorical_crossentropy;
}

bool metric_loss(const MetricConfig& metric, LossConfig* loss) {
  for (const auto& m : kMetricLosses) {
    if (m.metric != metric.kind) continue;
    loss->kind            = m.loss;
    const bool ce         = is_crossentropy(m.loss);
    loss->from_logits     = ce && metric.from_logits;
    loss->label_smoothing = ce ? metric.label_smoothing : 0.0f;
    return true;
  }
  return false;
}

bool is_crossentropy(LossKind kind) {
  return kind == LossKind::binary_crossentropy || kind == LossKind::categorical_crossentropy ||
         kind == LossKind::sparse_categorical_crossentropy;
}

const char* metric_name(MetricKind kind) {
  for (const auto& n : kMetricNames)
    if (n.kind == kind) return n.name;
  return "unknown";
}

void check_loss_config(const LossConfig& config) {
  if (!(config.delta > 0.0f))
    throw std::invalid_argument("delta must be > 0, got " + std::to_string(config.delta));
  const float ls = config.label_smoothing;
  if (!(ls >= 0.0f && ls <= 1.0f))
    throw std::invalid_argument("label_smoothing must be in [0, 1], got " + std::to_string(ls));
  const bool focal = config.kind == LossKind::binary_focal_crossentropy ||
                     config.kind == LossKind::categorical_focal_crossentropy;
  if (ls != 0.0f && config.kind != LossKind::binary_crossentropy &&
      config.kind != LossKind::categorical_crossentropy && !focal)
    throw std::invalid_argument(
        std::string("label_smoothing applies to binary_crossentropy, "
                    "categorical_crossentropy and their focal forms, not ") +
        loss_name(config.kind));
  if (focal && !(std::isfinite(config.alpha) && std::isfinite(config.gamma)))
    throw std::invalid_argument(
        std::string(loss_name(config.kind)) +
        ": alpha and gamma must be finite numbers, got alpha=" + std::to_string(config.alpha) +
        ", gamma=" + std::to_string(config.gamma));
  if (config.class_alpha.empty()) return;
  if (config.kind != LossKind::categorical_focal_crossentropy)
    throw std::invalid_argument(std::string(loss_name(config.kind)) +
                                " takes one alpha; a list of one alpha per class is "
                                "categorical_focal_crossentropy's");
  for (size_t j = 0; j < config.class_alpha.size(); ++j)
    if (!std::isfinite(config.class_alpha[j]))
      throw std::invalid_argument("categorical_focal_crossentropy: alpha[" + std::to_string(j) +
                                  "] must be a finite number, got " +
                                  std::to_string(config.class_alpha[j]));
}

void check_class_alpha(const LossConfig& config, int64_t cols) {
  const size_t n = config.class_alpha.size();
  if (n != 0 && static_cast<int64_t>(n) != cols)
    throw std::invalid_argument("categorical_focal_crossentropy: alpha has " + std::to_string(n) +
                                " values (one per class) but the predictions have " +
                                std::to_string(cols) + " classes");
}

double loss_forward_backward(const LossConfig& config, const float* out, const float* target,
                             const int32_t* labels, const float* sample_weight, int64_t rows,
                             int64_t cols, float* dout) {
  check_loss_config(config);
  check_class_alpha(config, cols);
  if (rows <= 0) return 0.0;
  const bool sparse = config.kind == LossKind::sparse_categorical_crossentropy;
  if (sparse) {
    if (!labels) throw std::invalid_argument("sparse_categorical_crossentropy needs labels");
    for (int64_t r = 0; r < rows; ++r)
      if (labels[r] < 0 || labels[r] >= cols)
        throw std::invalid_argument("label " + std::to_string(labels[r]) + " at row " +
                                    std::to_string(r) + " is outside [0, " + std::to_string(cols) +
                                    ")");
  } else if (!target) {
    throw std::invalid_argument(std::string(loss_name(config.kind)) + " needs a target array");
  }
  const double inv_rows = 1.0 / static_cast<double>(rows);
  const double inv_elem = inv_rows / static_cast<double>(cols);
  const double eps = kProbEpsilon, one_m_eps = kProbOneMinusEpsilon;
  const double delta = config.delta;
  const double ls    = config.label_smoothing;
  const bool hinge   = config.kind == LossKind::hinge || config.kind == LossKind::squared_hinge;
  const bool to_pm1  = hinge && all_binary(target, rows * cols);  // {0, 1} -> {-1, 1}
  // w * loss of row r, its gradient written to dout's row r
  auto row_value = [&](int64_t r) -> double {
    const double w  = sample_weight ? static_cast<double>(sample_weight[r]) : 1.0;
    const float* o  = out + r * cols;
    const float* t  = target ? target + r * cols : nullptr;
    float* d        = dout ? dout + r * cols : nullptr;
    double row_loss = 0.0;
    switch (config.kind) {
      case LossKind::mean_squared_error:
        for (int64_t j = 0; j < cols; ++j) {
          const double e = static_cast<double>(o[j]) - t[j];
          row_loss += e * e;
          if (d) d[j] = static_cast<float>(2.0 * e * w * inv_elem);
        }
        row_loss /= static_cast<double>(cols);
        break;
      case LossKind::mean_absolute_error:
        for (int64_t j = 0; j < cols; ++j) {
          const double e = static_cast<double>(o[j]) - t[j];
          row_loss += std::fabs(e);
          if (d) d[j] = static_cast<float>((e > 0 ? 1.0 : (e < 0 ? -1.0 : 0.0)) * w * inv_elem);
        }
        row_loss /= static_cast<double>(cols);
        break;
      case LossKind::huber:
        for (int64_t j = 0; j < cols; ++j) {
          const double e  = static_cast<double>(o[j]) - t[j];
          const double ae = std::fabs(e);
          // Keras's branches: delta = inf is plain e^2 / 2 (no inf * 0)
          row_loss += ae <= delta ? 0.5 * e * e : delta * (ae - 0.5 * delta);
          if (d) {
            // NaN e keeps NaN (torch's huber_loss and Keras's delta * sign(e))
            const double g = ae <= delta ? e : (e > 0 ? delta : (e < 0 ? -delta : e));
            d[j]           = static_cast<float>(g * w * inv_elem);
          }
        }
        row_loss /= static_cast<double>(cols);
        break;
      case LossKind::binary_crossentropy:
        for (int64_t j = 0; j < cols; ++j) {
          const double tj = ls == 0.0 ? t[j] : t[j] * (1.0 - ls) + 0.5 * ls;
          if (config.from_logits) {
            const double z = o[j];
            row_loss += std::max(z, 0.0) - z * tj + std::log1p(std::exp(-std::fabs(z)));
            if (d) d[j] = static_cast<float>((sigmoid_d(z) - tj) * w * inv_elem);
          } else {
            const double p = std::min(std::max(static_cast<double>(o[j]), eps), one_m_eps);
            row_loss -= tj * std::log(p) + (1.0 - tj) * std::log(1.0 - p);
            if (d) {
              const bool in  = o[j] >= eps && o[j] <= one_m_eps;
              const double g = in ? (-tj / p + (1.0 - tj) / (1.0 - p)) : 0.0;
              d[j]           = static_cast<float>(g * w * inv_elem);
            }
          }
        }
        row_loss /= static_cast<double>(cols);
        break;
      case LossKind::categorical_crossentropy:
      case LossKind::sparse_categorical_crossentropy:
        row_loss = config.from_logits ? categorical_logits(o, target, sparse ? labels : nullptr, r,
                                                           cols, ls, w * inv_rows, d)
                                      : categorical_probs(o, target, sparse ? labels : nullptr, r,
                                                          cols, ls, w * inv_rows, d);
        break;
      case LossKind::binary_focal_crossentropy:
        for (int64_t j = 0; j < cols; ++j) {
          const double tj = ls == 0.0 ? t[j] : t[j] * (1.0 - ls) + 0.5 * ls;
          const double p  = config.from_logits ? sigmoid_d(o[j]) : static_cast<double>(o[j]);
          double dp       = 0.0;
          row_loss += binary_focal_element(tj, p, config.alpha, config.gamma,
                                           config.apply_class_balancing, &dp);
          if (config.from_logits) dp *= p * (1.0 - p);  // sigmoid's backward
          if (d) d[j] = static_cast<float>(dp * w * inv_elem);
        }
        row_loss /= static_cast<double>(cols);
        break;
      case LossKind::categorical_focal_crossentropy:
        row_loss = categorical_focal(config, o, target, r, cols, w * inv_rows, d);
        break;
      case LossKind::categorical_hinge:
        row_loss = categorical_hinge_row(o, t, cols, w * inv_rows, d);
        break;
      case LossKind::cosine_similarity:
        row_loss = cosine_similarity_row(o, t, cols, w * inv_rows, d);
        break;
      case LossKind::mean_absolute_percentage_error:
      case LossKind::mean_squared_logarithmic_error:
      case LossKind::log_cosh:
      case LossKind::kl_divergence:
      case LossKind::poisson:
      case LossKind::hinge:
      case LossKind::squared_hinge: {
        const bool sum     = config.kind == LossKind::kl_divergence;  // the others: mean_j
        const double scale = w * (sum ? inv_rows : inv_elem);
        for (int64_t j = 0; j < cols; ++j) {
          const double tj = to_pm1 ? 2.0 * t[j] - 1.0 : t[j];
          double g        = 0.0;
          row_loss += element_loss(config.kind, o[j], tj, &g);
          if (d) d[j] = static_cast<float>(g * scale);
        }
        if (!sum) row_loss /= static_cast<double>(cols);
        break;
      }
    }
    return w * row_loss;
  };
  double total = 0.0;
  // Inside a team session (workers awake, a region ~1 us) a cross-entropy, an
  // exp per element, pays for a second thread from fewer elements: the seed
  // network's 128 x 10 softmax loss (~11 us on one thread) split in two made
  // the 2-thread fit epoch 0.974-0.993x as long (processes alternated,
  // medians of 15-25). The total is the serial one bit for bit either way.
  // (Not while the workers copy the next batch: the serial sum does not wait.)
  const int64_t min_parallel =
      is_crossentropy(config.kind) && runtime::in_team_session() && !runtime::background_busy()
          ? kTeamParallelLossElements
          : kParallelLossElements;
  if (rows * cols < min_parallel || runtime::num_threads() <= 1) {
    for (int64_t r = 0; r < rows; ++r) total += row_value(r);
  } else {
    // Wide outputs (many classes): rows on every thread, summed in row order
    // afterwards, so the total is the serial one bit for bit.
    thread_local std::vector<double> row_values;
    if (row_values.size() < static_cast<size_t>(rows)) row_values.resize(static_cast<size_t>(rows));
    double* values = row_values.data();
    runtime::parallel_for_static(runtime::num_threads(), rows,
                                 [&](int64_t r) { values[r] = row_value(r); });
    for (int64_t r = 0; r < rows; ++r) total += values[r];
  }
  return total * inv_rows;
}

double metric_sum(const MetricConfig& config, const float* out, const float* target,
                  const int32_t* labels, const float* sample_weight, int64_t rows, int64_t cols) {
  LossConfig loss;
  if (metric_loss(config, &loss)) {  // sum_r w_r * loss_r: the loss's mean times the rows
    const double sign = config.kind == MetricKind::cosine_similarity ? -1.0 : 1.0;
    return sign *
           loss_forward_backward(loss, out, target, labels, sample_weight, rows, cols, nullptr) *
           static_cast<double>(rows);
  }
  if (const int64_t n = metric_vector_size(config.kind, cols)) {
    if (config.part < 0 || config.part >= n)
      throw std::invalid_argument(std::string(metric_name(config.kind)) + ": part " +
                                  std::to_string(config.part) + " is outside [0, " +
                                  std::to_string(n) + ")");
    std::vector<double> sums(static_cast<size_t>(n));
    metric_vector_sums(config, out, target, sample_weight, rows, cols, sums.data());
    return sums[static_cast<size_t>(config.part)];
  }
  const float threshold = config.threshold;
  const int64_t k       = config.k;
  const double inv_cols = 1.0 / static_cast<double>(cols);
  double total          = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const double w = sample_weight ? static_cast<double>(sample_weight[r]) : 1.0;
    const float* o = out + r * cols;
    const float* t = target ? target + r * cols : nullptr;
    double v       = 0.0;
    switch (config.kind) {
      case MetricKind::sparse_categorical_accuracy:
        v = argmax_row(o, cols) == labels[r] ? 1.0 : 0.0;
        break;
      case MetricKind::categorical_accuracy:
        v = argmax_row(o, cols) == argmax_row(t, cols) ? 1.0 : 0.0;
        break;
      case MetricKind::binary_accuracy: {
        int64_t hits = 0;
        for (int64_t j = 0; j < cols; ++j)
          hits += ((o[j] > threshold ? 1.0f : 0.0f) == t[j]) ? 1 : 0;
        v = static_cast<double>(hits) * inv_cols;
        break;
      }
      case MetricKind::top_k_categorical_accuracy:
      case MetricKind::sparse_top_k_categorical_accuracy: {
        const int64_t c   = config.kind == MetricKind::sparse_top_k_categorical_accuracy
                                ? labels[r]
                                : argmax_row(t, cols);
        const float score = o[c];
        int64_t above     = 0;  // classes scored strictly higher than c
        for (int64_t j = 0; j < cols; ++j) above += o[j] > score ? 1 : 0;
        v = (score == score && above < k) ? 1.0 : 0.0;
        break;
      }
      case MetricKind::mean_squared_error:
        for (int64_t j = 0; j < cols; ++j) {
          const double e = static_cast<double>(o[j]) - t[j];
          v += e * e;
        }
        v *= inv_cols;
        break;
      case MetricKind::mean_absolute_error:
        for (int64_t j = 0; j < cols; ++j) v += std::fabs(static_cast<double>(o[j]) - t[j]);
        v *= inv_cols;
        break;
      case MetricKind::true_positives:
      case MetricKind::false_positives:
      case MetricKind::true_negatives:
      case MetricKind::false_negatives: {
        // keras/src/metrics/metrics_utils.py update_confusion_matrix_variables:
        // label = cast(y_true, bool), predicted = y_pred > threshold
        const bool want_label =
            config.kind == MetricKind::true_positives || config.kind == MetricKind::false_negatives;
        const bool want_pred =
            config.kind == MetricKind::true_positives || config.kind == MetricKind::false_positives;
        int64_t hits = 0;
        for (int64_t j = 0; j < cols; ++j) {
          const float value = config.clip_to_unit ? clipped_to_unit(o[j]) : o[j];
          hits += ((t[j] != 0.0f) == want_label && (value > threshold) == want_pred) ? 1 : 0;
        }
        v = static_cast<double>(hits);
        break;
      }
      case MetricKind::binary_crossentropy:
      case MetricKind::categorical_crossentropy:
      case MetricKind::sparse_categorical_crossentropy:
      case MetricKind::mean_absolute_percentage_error:
      case MetricKind::mean_squared_logarithmic_error:
      case MetricKind::log_cosh_error:
      case MetricKind::kl_divergence:
      case MetricKind::poisson:
      case MetricKind::hinge:
      case MetricKind::squared_hinge:
      case MetricKind::categorical_hinge:
      case MetricKind::cosine_similarity:
      case MetricKind::r2_sums:
      case MetricKind::f_score_counts:
        break;  // computed above
    }
    total += w * v;
  }
  return total;
}

int64_t metric_vector_size(MetricKind kind, int64_t cols) {
  if (kind == MetricKind::r2_sums) return 3 * cols + 2;
  if (kind == MetricKind::f_score_counts) return 4 * cols;
  return 0;
}

void metric_vector_sums(const MetricConfig& config, const float* out, const float* target,
                        const float* sample_weight, int64_t rows, int64_t cols, double* sums) {
  const int64_t n = metric_vector_size(config.kind, cols);
  if (n == 0)
    throw std::invalid_argument(std::string(metric_name(config.kind)) + " is not a vector metric");
  if (!target)
    throw std::invalid_argument(std::string(metric_name(config.kind)) + " needs targets");
  std::fill(sums, sums + n, 0.0);
  double* s0 = sums;             // r2: sum w t        f: true positives
  double* s1 = sums + cols;      // r2: sum w t^2      f: false positives
  double* s2 = sums + 2 * cols;  // r2: residuals      f: false negatives
  double* s3 = sums + 3 * cols;  // r2: [sum w, rows]  f: support
  for (int64_t r = 0; r < rows; ++r) {
    const double w = sample_weight ? static_cast<double>(sample_weight[r]) : 1.0;
    const float* o = out + r * cols;
    const float* t = target + r * cols;
    if (config.kind == MetricKind::r2_sums) {
      // keras/src/metrics/regression_metrics.py R2Score.update_state
      for (int64_t j = 0; j < cols; ++j) {
        const double tj = t[j], e = tj - static_cast<double>(o[j]);
        s0[j] += w * tj;
        s1[j] += w * tj * tj;
        s2[j] += w * e * e;
      }
      s3[0] += w;
      s3[1] += 1.0;
      continue;
    }
    // keras/src/metrics/f_score_metrics.py FBetaScore.update_state
    float top = o[0];  // the row's maximum; NaN when any is (as ops.max): no positives
    if (config.at_max)
      for (int64_t j = 1; j < cols; ++j)
        if (o[j] > top || o[j] != o[j]) top = o[j];  // (a NaN top stays)
    for (int64_t j = 0; j < cols; ++j) {
      const bool on =
          config.at_max ? (o[j] >= top && std::fabs(o[j]) > 1e-9f) : o[j] > config.threshold;
      const double p = on ? 1.0 : 0.0, tj = t[j];
      s0[j] += w * p * tj;
      s1[j] += w * p * (1.0 - tj);
      s2[j] += w * (1.0 - p) * tj;
      s3[j] += w * tj;
    }
  }
}

bool is_confusion_count(MetricKind kind) {
  return kind == MetricKind::true_positives || kind == MetricKind::false_positives ||
         kind == MetricKind::true_negatives || kind == MetricKind::false_negatives;
}

void confusion_sums_sorted(MetricKind kind, const float* thresholds, int64_t n, const float* out,
                           const float* target, const float* sample_weight, int64_t rows,
                           int64_t cols, double* buckets, double* sums, bool clip_to_unit) {
  double* pos = buckets;          // label nonzero, by bucket
  double* neg = buckets + n + 1;  // label zero
  std::fill(buckets, buckets + 2 * (n + 1), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double w = sample_weight ? static_cast<double>(sample_weight[r]) : 1.0;
    const float* o = out + r * cols;
    const float* t = target + r * cols;
    for (int64_t j = 0; j < cols; ++j) {
      // out > thresholds[i] exactly for i < b (a NaN output is above none)
      const float value = clip_to_unit ? clipped_to_unit(o[j]) : o[j];
      const int64_t b   = std::lower_bound(thresholds, thresholds + n, value) - thresholds;
      (t[j] != 0.0f ? pos : neg)[b] += w;
    }
  }
  const bool label_positive = kind == MetricKind::true_positives ||  // TP, FN count pos
                              kind == MetricKind::false_negatives;
  const bool predicted_positive =
      kind == MetricKind::true_positives || kind == MetricKind::false_positives;
  const double* hist = label_positive ? pos : neg;
  if (predicted_positive) {  // sums[i] = hist[i + 1] + ... + hist[n]
    double above = 0.0;
    for (int64_t i = n - 1; i >= 0; --i) sums[i] = (above += hist[i + 1]);
  } else {  // sums[i] = hist[0] + ... + hist[i]
    double below = 0.0;
    for (int64_t i = 0; i < n; ++i) sums[i] = (below += hist[i]);
  }
}

}  // namespace fastnn::ops
