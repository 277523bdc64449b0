#include "nn/network.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "gemm/gemm.h"
#include "nn/batch_norm.h"
#include "nn/dropout.h"
#include "nn/initializers.h"
#include "nn/layer_norm.h"
#include "nn/noise.h"
#include "nn/penalty.h"
#include "nn/prelu.h"
#include "nn/unit_norm.h"
#include "ops/activations.h"
#include "runtime/team.h"
#include "runtime/threads.h"

namespace fastnn::nn {

namespace {

using ops::ActivationKind;

constexpr int64_t kAlignFloats = 16;       // 64 bytes
constexpr int64_t kChunk       = 1 << 15;  // elements per parallel chunk
// Below this many chunks a streaming pass stays on one thread: waking a team
// costs more than the pass (and much more when another process holds a core).
constexpr int64_t kMinParallelChunks = 8;

int64_t align_up(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// Dropout and the noise layers: whether the layer draws random numbers in
// training (it keeps a per-element factor in mask_ for backward).
bool is_random(const LayerSpec& L) {
  switch (L.type) {
    case LayerType::dropout:
    case LayerType::gaussian_dropout:
    case LayerType::alpha_dropout:
      return L.rate != 0.0f;
    case LayerType::gaussian_noise:
      return L.stddev != 0.0f;
    default:
      return false;
  }
}

// Whether layer L has an activity regularizer (a penalty on its output).
bool has_activity(const LayerSpec& L) { return L.activity_l1 != 0.0f || L.activity_l2 != 0.0f; }

// The activation parameters of layer L.
ops::ActivationParams act_params(const LayerSpec& L) {
  if (L.act == ActivationKind::relu_clipped)
    return ops::relu_clipped_params(L.act_param, L.act_max_value, L.act_threshold);
  ops::ActivationParams p;
  p.a = L.act_param;
  return p;
}

bool epilogue_supports(ActivationKind act) {
  return act == ActivationKind::linear || act == ActivationKind::relu ||
         act == ActivationKind::sigmoid || act == ActivationKind::tanh;
}

// db[j] = sum_r d[r, j], rows in order (deterministic).
// db[j] = sum over rows of d[r][j]: float sums over blocks of kSumBlock rows,
// combined in double in row order (accurate past 2^24 rows, deterministic).
void column_sums(float* db, const float* d, int64_t rows, int64_t cols) {
  constexpr int64_t kSumBlock = 256;
  thread_local std::vector<float> block;
  thread_local std::vector<double> total;
  block.resize(static_cast<size_t>(cols));
  total.assign(static_cast<size_t>(cols), 0.0);
  for (int64_t r0 = 0; r0 < rows; r0 += kSumBlock) {
    const int64_t r1 = std::min(rows, r0 + kSumBlock);
    for (int64_t j = 0; j < cols; ++j) block[j] = 0.0f;
    for (int64_t r = r0; r < r1; ++r) {
      const float* dr = d + r * cols;
      for (int64_t j = 0; j < cols; ++j) block[j] += dr[j];
    }
    for (int64_t j = 0; j < cols; ++j) total[j] += block[j];
  }
  for (int64_t j = 0; j < cols; ++j) db[j] = static_cast<float>(total[j]);
}

void scale_inplace(float* d, const float* m, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] *= m[i];
}

// Below this many floats a batch is gathered on one thread (a parallel
// region costs a few microseconds).
constexpr int64_t kMinParallelGatherFloats = 1 << 14;

// Batches below this many flops (forward, or forward + backward) run without
// a team session: their products all run on one thread.
constexpr double kTeamMinFlops = 4.0e6;

// Sizes in floats (input width, a kernel's in * units, the whole buffer) are
// kept below this, so that offsets and byte counts never overflow int64.
constexpr int64_t kMaxBufferFloats = int64_t{1} << 56;

// predict computes at most this many rows per forward pass (see predict()).
constexpr int64_t kInferenceChunkRows = 1024;
// At most this many floats in a layer's output of one predict piece (4 MiB).
constexpr int64_t kInferenceChunkFloats = int64_t{1} << 20;

// Network::input_kept_: Fashion-MNIST batches of 128 keep 0.63 (4-row
// panels), 0.69 (6) and 0.75 (8) of the steps, and the product takes 0.82-0.86
// of the dense one's time on 1 and 2 threads (AVX2 and AVX-512 tiles); above
// about 0.9 the packing costs more than the skipped steps save.
constexpr double kSkipZeroMaxKept = 0.85;
constexpr int64_t kSkipZeroRetry  = 200;

void check_factor(float v, const char* what, size_t layer) {
  if (!(v >= 0.0f && std::isfinite(v)))
    throw std::invalid_argument(std::string(what) + " of layer " + std::to_string(layer) +
                                " must be a finite number >= 0, got " + std::to_string(v));
}

}  // namespace

void SgdUpdater::step(float* params, const float* grads, int64_t n) {
  const float lr       = lr_;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  runtime::parallel_for_static(chunks >= kMinParallelChunks ? runtime::num_threads() : 1, chunks,
                               [&](int64_t c) {
                                 const int64_t end = std::min(n, (c + 1) * kChunk);
                                 for (int64_t i = c * kChunk; i < end; ++i)
                                   params[i] -= lr * grads[i];
                               });
}

Network::Network(int64_t input_dim, std::vector<LayerSpec> layers)
    : input_dim_(input_dim), layers_(std::move(layers)) {
  if (input_dim_ < 1 || input_dim_ > kMaxBufferFloats)
    throw std::invalid_argument("input_dim must be in [1, 2**56], got " +
                                std::to_string(input_dim_));
  int64_t width            = input_dim_;
  int64_t offset           = 0;
  int64_t stat_end         = 0;  // floats of the state buffer so far
  int64_t bn_width         = 0;  // the widest batch_norm layer
  int64_t constraint_width = 0;  // the widest constrained tensor
  max_width_               = input_dim_;
  first_trainable_         = static_cast<int>(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerSpec& L = layers_[i];
    LayerState s;
    s.in = width;
    if (std::isnan(layers_[i].act_param))
      layers_[i].act_param = ops::activation_default_param(L.act);
    // (a dropout layer keeps its rate in act_param)
    const char* rule = L.type == LayerType::dropout && std::isfinite(L.act_param)
                           ? nullptr
                           : ops::activation_param_rule(L.act, L.act_param);
    if (rule)
      throw std::invalid_argument(
          "activation parameter of layer " + std::to_string(i) + " must be finite" +
          (std::isfinite(L.act_param) ? std::string(" and ") + rule : std::string()) + " for " +
          ops::activation_name(L.act) + ", got " + std::to_string(L.act_param));
    if (L.act == ActivationKind::relu_clipped &&
        !(L.act_param >= 0.0f && L.act_max_value >= 0.0f && L.act_threshold >= 0.0f &&
          std::isfinite(L.act_threshold)))
      throw std::invalid_argument(
          "relu parameters of layer " + std::to_string(i) +
          " must be >= 0 (negative_slope, threshold finite; max_value may be inf), got " +
          std::to_string(L.act_param) + ", " + std::to_string(L.act_max_value) + ", " +
          std::to_string(L.act_threshold));
    check_factor(L.activity_l1, "activity l1", i);
    check_factor(L.activity_l2, "activity l2", i);
    switch (L.type) {
      case LayerType::dense:
        if (L.units < 1)
          throw std::invalid_argument("Dense units must be >= 1, got " + std::to_string(L.units));
        if (L.units > kMaxBufferFloats / s.in)  // in * units would overflow the offsets
          throw std::invalid_argument("Dense layer " + std::to_string(i) + " would hold " +
                                      std::to_string(s.in) + " x " + std::to_string(L.units) +
                                      " weights, more than a buffer can address");
        s.out    = L.units;
        s.kernel = offset;
        offset   = align_up(offset + s.in * s.out);
        tensors_.push_back({s.kernel, s.in, s.out, static_cast<int>(i), false});
        num_params_ += s.in * s.out;
        macs_per_row_ += s.in * s.out;
        if (L.use_bias) {
          s.bias = offset;
          offset = align_up(offset + s.out);
          tensors_.push_back({s.bias, s.out, 0, static_cast<int>(i), true});
          num_params_ += s.out;
        }
        check_factor(L.kernel_l1, "kernel l1", i);
        check_factor(L.kernel_l2, "kernel l2", i);
        check_factor(L.bias_l1, "bias l1", i);
        check_factor(L.bias_l2, "bias l2", i);
        for (const auto& [begin, size, l1, l2] :
             {std::make_tuple(s.kernel, s.in * s.out, L.kernel_l1, L.kernel_l2),
              std::make_tuple(s.bias, s.out, L.bias_l1, L.bias_l2)}) {
          if (begin < 0 || (l1 == 0.0f && l2 == 0.0f)) continue;
          for (int64_t c = 0; c < size; c += kChunk)
            reg_chunks_.push_back(
                {begin + c, begin + std::min(size, c + kChunk), l1, l2, static_cast<int>(i)});
        }
        for (const auto& [c, begin, rows, cols, what] :
             {std::make_tuple(L.kernel_constraint, s.kernel, s.in, s.out, "kernel"),
              std::make_tuple(L.bias_constraint, s.bias, s.out, int64_t{0}, "bias")}) {
          if (c.kind == ConstraintKind::none || begin < 0) continue;
          if (std::isnan(c.min_value) || std::isnan(c.max_value) || std::isnan(c.rate) ||
              !(c.over_rows || c.over_cols) || (cols == 0 && c.over_cols))
            throw std::invalid_argument(std::string(what) + " constraint of layer " +
                                        std::to_string(i) +
                                        ": its values must be numbers and its axes the weight's");
          constrained_.push_back({begin, rows, cols, c, static_cast<int>(i)});
          constraint_width = std::max(constraint_width, std::max(rows, cols));
        }
        s.epilogue_act   = epilogue_supports(L.act);
        s.keep_pre       = !s.epilogue_act;
        first_trainable_ = std::min(first_trainable_, static_cast<int>(i));
        break;
      case LayerType::activation:
      case LayerType::activity_regularization:
      case LayerType::unit_norm:
        s.out = width;
        break;
      case LayerType::prelu:
        s.out   = width;
        s.alpha = offset;
        offset  = align_up(offset + width);
        tensors_.push_back({s.alpha, width, 0, static_cast<int>(i), false});
        num_params_ += width;
        first_trainable_ = std::min(first_trainable_, static_cast<int>(i));
        bn_width         = std::max(bn_width, width);  // bn_acc_ holds dalpha
        break;
      case LayerType::dropout:
      case LayerType::gaussian_dropout:
      case LayerType::alpha_dropout:
        if (!(L.rate >= 0.0f && L.rate < 1.0f))
          throw std::invalid_argument("Dropout rate must be in [0, 1), got " +
                                      std::to_string(L.rate));
        s.out = width;
        break;
      case LayerType::gaussian_noise:
        if (!(L.stddev >= 0.0f && L.stddev <= 1.0f))
          throw std::invalid_argument("GaussianNoise stddev must be in [0, 1], got " +
                                      std::to_string(L.stddev));
        s.out = width;
        break;
      case LayerType::layer_norm:
      case LayerType::batch_norm: {
        const bool batch       = L.type == LayerType::batch_norm;
        const std::string kind = batch ? "BatchNormalization" : "LayerNormalization";
        if (batch && !(L.momentum >= 0.0 && L.momentum <= 1.0))
          throw std::invalid_argument(kind + " momentum of layer " + std::to_string(i) +
                                      " must be in [0, 1], got " + std::to_string(L.momentum));
        if (!(L.epsilon > 0.0 && std::isfinite(L.epsilon)))
          throw std::invalid_argument(kind + " epsilon of layer " + std::to_string(i) +
                                      " must be a finite number > 0, got " +
                                      std::to_string(L.epsilon));
        s.out         = width;
        const int idx = static_cast<int>(i);
        if (L.scale) {
          s.gamma = offset;
          offset  = align_up(offset + width);
          tensors_.push_back({s.gamma, width, 0, idx, false});
          num_params_ += width;
        }
        if (L.center) {
          s.beta = offset;
          offset = align_up(offset + width);
          tensors_.push_back({s.beta, width, 0, idx, true});
          num_params_ += width;
        }
        if (batch) {
          s.moving_mean = stat_end;
          s.moving_var  = align_up(stat_end + width);
          stat_end      = align_up(s.moving_var + width);
          stat_tensors_.push_back({s.moving_mean, width, idx, false});
          stat_tensors_.push_back({s.moving_var, width, idx, true});
        }
        if (L.scale || L.center) first_trainable_ = std::min(first_trainable_, idx);
        bn_width = std::max(bn_width, width);
        break;
      }
    }
    if (offset > kMaxBufferFloats)
      throw std::invalid_argument("the network's weights (" + std::to_string(offset) +
                                  " floats after layer " + std::to_string(i) +
                                  ") are more than a buffer can address");
    width      = s.out;
    max_width_ = std::max(max_width_, width);
    widths_.push_back(width);
    state_.push_back(s);
  }
  buffer_size_ = std::max<int64_t>(offset, kAlignFloats);
  try {
    params_.reserve(buffer_size_);
    grads_.reserve(buffer_size_);
  } catch (const std::bad_alloc&) {
    throw runtime::AllocationError(
        "fastnn could not allocate the network's " + std::to_string(num_params_) +
        " parameters: " + runtime::byte_text(4.0 * static_cast<double>(buffer_size_)) +
        " for the weights and as much for their gradients");
  }
  params_.zero();
  grads_.zero();
  stats_size_ = std::max<int64_t>(stat_end, kAlignFloats);
  stats_.reserve(stats_size_);
  stats_.zero();
  for (const StatInfo& t : stat_tensors_)  // Keras's initializers: zeros, ones
    if (t.is_variance) std::fill(stats_.data() + t.offset, stats_.data() + t.offset + t.size, 1.0f);
  bn_.resize(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i].type == LayerType::batch_norm)
      bn_[i].reserve(static_cast<size_t>(3 * state_[i].out));
  bn_acc_.assign(static_cast<size_t>(2 * bn_width), 0.0);
  constraint_sums_.assign(static_cast<size_t>(constraint_width), 0.0);
  reg_partial_.assign(reg_chunks_.size(), 0.0);
  out_.resize(layers_.size());
  pre_.resize(layers_.size());
  mask_.resize(layers_.size());
  out_ptr_.assign(layers_.size(), nullptr);
  activity_last_.assign(layers_.size(), 0.0);
  frozen_.assign(layers_.size(), 0);
}

LossReduction loss_reduction_from_name(const std::string& name) {
  if (name == "sum_over_batch_size" || name == "mean") return LossReduction::sum_over_batch_size;
  if (name == "sum") return LossReduction::sum;
  if (name == "mean_with_sample_weight") return LossReduction::mean_with_sample_weight;
  throw std::invalid_argument("Unknown loss reduction '" + name +
                              "'; expected one of: sum_over_batch_size, mean, sum, "
                              "mean_with_sample_weight");
}

void Network::set_loss(const ops::LossConfig& loss, std::vector<ops::MetricConfig> metrics,
                       double loss_weight, LossReduction reduction) {
  ops::check_loss_config(loss);  // (a per-class alpha is checked against the outputs per call:
                                 // a compiled model may be rebuilt with other outputs meanwhile)
  if (!std::isfinite(loss_weight))
    throw std::invalid_argument("loss_weight must be a finite number, got " +
                                std::to_string(loss_weight));
  const bool sparse = loss.kind == ops::LossKind::sparse_categorical_crossentropy;
  for (const ops::MetricConfig& m : metrics) {
    const std::string name = ops::metric_name(m.kind);
    if (ops::metric_takes_labels(m.kind) != sparse)
      throw std::invalid_argument(name + (sparse ? " needs one-hot or binary targets, but the loss "
                                                   "sparse_categorical_crossentropy takes class ids"
                                                 : " needs integer class ids, but the loss " +
                                                       std::string(ops::loss_name(loss.kind)) +
                                                       " takes target arrays"));
    if (m.k < 1) throw std::invalid_argument(name + ": k must be >= 1, got " + std::to_string(m.k));
    const int64_t parts = ops::metric_vector_size(m.kind, output_dim());
    if (parts && (m.part < 0 || m.part >= parts))
      throw std::invalid_argument(name + ": part " + std::to_string(m.part) + " is outside [0, " +
                                  std::to_string(parts) + ")");
    ops::LossConfig as_loss;
    if (ops::metric_loss(m, &as_loss)) ops::check_loss_config(as_loss);  // e.g. label_smoothing
  }
  std::vector<MetricRun> runs;
  size_t longest = 0;
  for (size_t i = 0; i < metrics.size();) {
    size_t end = i + 1;
    if (ops::is_confusion_count(metrics[i].kind))
      while (end < metrics.size() && metrics[end].kind == metrics[i].kind &&
             metrics[end].weighted == metrics[i].weighted &&
             metrics[end].clip_to_unit == metrics[i].clip_to_unit &&
             metrics[end - 1].threshold <= metrics[end].threshold)  // (false for NaN)
        ++end;
    const int64_t parts = ops::metric_vector_size(metrics[i].kind, output_dim());
    if (parts)  // the sums of one vector metric: one pass
      while (end < metrics.size() && metrics[end].kind == metrics[i].kind &&
             metrics[end].weighted == metrics[i].weighted &&
             metrics[end].threshold == metrics[i].threshold &&
             metrics[end].at_max == metrics[i].at_max &&
             metrics[end].part == metrics[end - 1].part + 1)
        ++end;
    runs.push_back({i, end});
    longest = std::max(longest, std::max(end - i, static_cast<size_t>(parts)));
    i       = end;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  loss_        = loss;
  loss_weight_ = loss_weight;
  reduction_   = reduction;
  metrics_     = std::move(metrics);
  metric_runs_ = std::move(runs);
  run_thresholds_.resize(longest);
  run_buckets_.resize(2 * (longest + 1));
  run_sums_.resize(longest);
  // (no layers: the loss reads the inputs themselves, never logits)
  const LayerSpec last = layers_.empty() ? LayerSpec{} : layers_.back();
  const bool has_act =
      !layers_.empty() && (last.type == LayerType::dense || last.type == LayerType::activation);
  const bool categorical = loss.kind == ops::LossKind::categorical_crossentropy ||
                           loss.kind == ops::LossKind::sparse_categorical_crossentropy;
  // An output with an activity regularizer keeps its probabilities: the
  // penalty's gradient is with respect to them, not to the logits.
  const bool output_activity = has_activity(last);
  fused_ =
      has_act && !loss.from_logits && !output_activity &&
      ((categorical && last.act == ActivationKind::softmax) ||
       (loss.kind == ops::LossKind::binary_crossentropy && last.act == ActivationKind::sigmoid));
  metric_on_logits_.assign(metrics_.size(), 0);
  for (size_t k = 0; k < metrics_.size(); ++k) {
    ops::LossConfig as_loss;
    if (!fused_ || !ops::metric_loss(metrics_[k], &as_loss) || as_loss.from_logits ||
        !ops::is_crossentropy(as_loss.kind))
      continue;
    const bool metric_categorical = as_loss.kind != ops::LossKind::binary_crossentropy;
    metric_on_logits_[k]          = metric_categorical == categorical;
  }
  // The fused form needs the last dense layer's logits.
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].type != LayerType::dense) continue;
    const bool fused_here  = fused_ && i + 1 == layers_.size();
    state_[i].epilogue_act = epilogue_supports(layers_[i].act) && !fused_here;
    state_[i].keep_pre     = !state_[i].epilogue_act;
  }
}

int Network::team_threads(int64_t rows, int passes) const {
  // A team session pays one fork; worth it when a batch holds parallel GEMMs
  // (inside a session gemm.cpp runs products under 1 MFLOP on one thread).
  const double flops = 2.0 * static_cast<double>(rows) * static_cast<double>(macs_per_row_) *
                       static_cast<double>(passes);
  return flops >= kTeamMinFlops ? runtime::num_threads() : 1;
}

void Network::reserve(int64_t rows) {
  if (rows <= capacity_) return;
  // The workspaces' size in bytes, in double (an int64 product could wrap for
  // a wide layer times a large batch), for the check and the message.
  // (train_epoch's gathered batch twice: dbuf_ pair, xg_/tg_/wg_/lg_ pairs)
  double per_row = 2.0 * (static_cast<double>(max_width_) + static_cast<double>(input_dim_) +
                          static_cast<double>(output_dim()) + 2.0);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerType t = layers_[i].type;
    const bool pre =
        t == LayerType::dense || t == LayerType::batch_norm || t == LayerType::layer_norm;
    const bool out = t != LayerType::activity_regularization;
    per_row += static_cast<double>(state_[i].out) * (out + pre + is_random(layers_[i])) +
               (t == LayerType::layer_norm ? 1.0 : 0.0);
  }
  const double bytes     = per_row * static_cast<double>(rows) * sizeof(float);
  const std::string what = "the layer outputs and gradients of a batch of " + std::to_string(rows) +
                           " samples (" + runtime::byte_text(bytes) + "); use a smaller batch_size";
  if (bytes > 0x1p62) throw runtime::AllocationError("fastnn cannot allocate " + what);
  try {
    reserve_workspaces(rows);
  } catch (const std::bad_alloc&) {
    throw runtime::AllocationError("fastnn could not allocate " + what);
  }
  capacity_ = rows;
}

void Network::reserve_workspaces(int64_t rows) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    const size_t n = static_cast<size_t>(rows * state_[i].out);
    if (layers_[i].type != LayerType::activity_regularization) out_[i].reserve(n);  // (else y = x)
    if (layers_[i].type == LayerType::dense || layers_[i].type == LayerType::batch_norm)
      pre_[i].reserve(n);
    if (layers_[i].type == LayerType::layer_norm)  // x-hat, then each row's inv
      pre_[i].reserve(n + static_cast<size_t>(rows));
    if (is_random(layers_[i])) mask_[i].reserve(n);
  }
  const size_t wide = static_cast<size_t>(rows * max_width_);
  dbuf_[0].reserve(wide);
  dbuf_[1].reserve(wide);
  for (int k = 0; k < 2; ++k) {
    xg_[k].reserve(static_cast<size_t>(rows * input_dim_));
    tg_[k].reserve(static_cast<size_t>(rows * output_dim()));
    wg_[k].reserve(static_cast<size_t>(rows));
    lg_[k].reserve(static_cast<size_t>(rows));
  }
}

size_t Network::serial_tail_begin(int64_t rows) const {
  const double min_flops = gemm::parallel_min_flops();
  for (size_t i = layers_.size(); i-- > 0;) {
    const LayerSpec& L  = layers_[i];
    const LayerState& S = state_[i];
    const bool threaded =
        L.type == LayerType::dense
            ? 2.0 * static_cast<double>(rows) * static_cast<double>(S.in * S.out) >= min_flops
            : L.type != LayerType::activation && L.type != LayerType::activity_regularization &&
                  rows * S.out >= kChunk;
    if (threaded) return i + 1;
  }
  return 0;
}

const float* Network::forward(const float* x, int64_t rows, bool training,
                              const runtime::TaskRef* background, runtime::BackgroundTask* task) {
  const float* in   = x;
  float* params     = params_.data();
  activity_sum_     = 0.0;
  activity_seen_    = true;
  const size_t tail = background ? serial_tail_begin(rows) : layers_.size();
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (background && i == tail) task->start(*background);
    const LayerSpec& L  = layers_[i];
    const LayerState& S = state_[i];
    float* y            = out_[i].data();
    switch (L.type) {
      case LayerType::dense: {
        // x is (rows, in), W (in, out), y (rows, out)
        gemm::Epilogue ep;
        ep.bias        = S.bias >= 0 ? params + S.bias : nullptr;
        ep.act         = S.epilogue_act ? L.act : ActivationKind::linear;
        const bool use = ep.bias != nullptr || ep.act != ActivationKind::linear;
        float* dst     = S.keep_pre ? pre_[i].data() : y;
        gemm::sgemm(false, false, rows, S.out, S.in, 1.0f, in, S.in, params + S.kernel, S.out, 0.0f,
                    dst, S.out, use ? &ep : nullptr);
        if (S.keep_pre) ops::activation_forward(L.act, y, dst, rows, S.out, act_params(L));
        if (has_activity(L)) add_activity(i, y, rows);
        break;
      }
      case LayerType::activity_regularization:
        y = const_cast<float*>(in);  // identity: no copy
        if (has_activity(L)) add_activity(i, y, rows);
        break;
      case LayerType::activation:
        ops::activation_forward(L.act, y, in, rows, S.out, act_params(L));
        break;
      case LayerType::prelu:
        prelu_forward(i, in, y, rows);
        break;
      case LayerType::dropout:
      case LayerType::gaussian_noise:
      case LayerType::gaussian_dropout:
      case LayerType::alpha_dropout: {
        if (!training || !is_random(L)) {
          y = const_cast<float*>(in);  // identity: no copy
          break;
        }
        float* m         = mask_[i].data();
        const int64_t n  = rows * S.out;
        const float rate = L.rate;
        // the same key for every random layer type: (seed, iteration, layer)
        uint64_t key =
            mix64(L.seed ^ mix64(static_cast<uint64_t>(iterations_) * 0xD1B54A32D192ED03ull +
                                 static_cast<uint64_t>(i)));
        // model(x, training=True): each call its own stream (none in training)
        if (draw_stream_ != 0) key = mix64(key ^ mix64(draw_stream_ * 0x9E3779B97F4A7C15ull));
        const LayerType type = L.type;
        const float scale    = 1.0f / (1.0f - rate);
        const double rate64 = std::isnan(L.rate_double) ? static_cast<double>(rate) : L.rate_double;
        const float stddev =
            type == LayerType::gaussian_dropout ? gaussian_dropout_stddev(rate64) : L.stddev;
        const AlphaDropoutCoeffs coeffs =
            type == LayerType::alpha_dropout ? alpha_dropout_coeffs(rate64) : AlphaDropoutCoeffs{};
        const int64_t chunks = (n + kChunk - 1) / kChunk;
        runtime::parallel_for_static(
            chunks > 1 ? runtime::num_threads() : 1, chunks, [&](int64_t c) {
              const int64_t b = c * kChunk, e = std::min(n, (c + 1) * kChunk);
              switch (type) {
                case LayerType::gaussian_noise:
                  return gaussian_noise_forward(m, y, in, b, e, key, stddev);
                case LayerType::gaussian_dropout:
                  return gaussian_dropout_forward(m, y, in, b, e, key, stddev);
                case LayerType::alpha_dropout:
                  return alpha_dropout_forward(m, y, in, b, e, key, rate, coeffs);
                default:
                  return dropout_forward(m, y, in, b, e, key, rate, scale);
              }
            });
        break;
      }
      case LayerType::batch_norm:
        batch_norm_forward(i, in, y, rows, training && !frozen_[i]);
        break;
      case LayerType::layer_norm:
        layer_norm_forward(i, in, y, rows);
        break;
      case LayerType::unit_norm:
        unit_norm_forward(i, in, y, rows);
        break;
    }
    out_ptr_[i] = y;
    in          = y;
  }
  if (background && tail == layers_.size()) task->start(*background);
  last_rows_ = rows;
  last_out_  = in;
  return in;
}

void Network::backward(const float* x, int64_t rows, float* dout) {
  float* params  = params_.data();
  float* grads   = grads_.data();
  float* d       = dout;
  float* other   = d == dbuf_[0].data() ? dbuf_[1].data() : dbuf_[0].data();
  bool d_is_pre  = fused_;  // d is already the gradient w.r.t. the last pre-activation
  const int last = static_cast<int>(layers_.size()) - 1;
  for (int i = last; i >= first_trainable_; --i) {
    const LayerSpec& L  = layers_[i];
    const LayerState& S = state_[i];
    const float* in     = i == 0 ? x : out_ptr_[i - 1];
    switch (L.type) {
      case LayerType::dense: {
        // d (rows, out) -> dZ in place; dW = x^T dZ; db = colsum dZ; dx = dZ W^T
        if (has_activity(L))
          add_activity_gradient(static_cast<size_t>(i), d, rows);  // d is dL/dy (no fusion)
        if (!d_is_pre && L.act != ActivationKind::linear)
          ops::activation_backward(L.act, d, d, S.keep_pre ? pre_[i].data() : nullptr, out_ptr_[i],
                                   rows, S.out, act_params(L));
        if (!frozen_[static_cast<size_t>(i)]) {
          if (S.bias >= 0) column_sums(grads + S.bias, d, rows, S.out);
          if (i == 0 && (input_kept_ < kSkipZeroMaxKept || ++skip_zero_retry_ >= kSkipZeroRetry)) {
            skip_zero_retry_ = 0;
            input_kept_ = gemm::sgemm_skip_zero_a(true, false, S.in, S.out, rows, 1.0f, in, S.in, d,
                                                  S.out, 0.0f, grads + S.kernel, S.out);
          } else {
            gemm::sgemm(true, false, S.in, S.out, rows, 1.0f, in, S.in, d, S.out, 0.0f,
                        grads + S.kernel, S.out);
          }
        }
        if (i > first_trainable_) {
          gemm::sgemm(false, true, rows, S.in, S.out, 1.0f, d, S.out, params + S.kernel, S.out,
                      0.0f, other, S.in);
          std::swap(d, other);
        }
        break;
      }
      case LayerType::activation:
        if (!d_is_pre)
          ops::activation_backward(L.act, d, d, in, out_ptr_[i], rows, S.out, act_params(L));
        break;
      case LayerType::prelu:
        prelu_backward(static_cast<size_t>(i), in, d, rows, i > first_trainable_);
        break;
      case LayerType::dropout:
      case LayerType::gaussian_dropout:
      case LayerType::alpha_dropout:
        if (L.rate != 0.0f) scale_inplace(d, mask_[i].data(), rows * S.out);
        break;
      case LayerType::gaussian_noise:  // y = x + noise: dx = dy
        break;
      case LayerType::activity_regularization:  // y = x: dx = dy + the penalty's gradient
        if (has_activity(L)) add_activity_gradient(static_cast<size_t>(i), d, rows);
        break;
      case LayerType::batch_norm:
        batch_norm_backward(static_cast<size_t>(i), d, rows, i > first_trainable_);
        break;
      case LayerType::layer_norm:
        layer_norm_backward(static_cast<size_t>(i), d, rows, i > first_trainable_);
        break;
      case LayerType::unit_norm:  // no weights: reached only when a layer below trains
        unit_norm_backward(static_cast<size_t>(i), in, d, rows);
        break;
    }
    d_is_pre = false;
  }
}

void Network::batch_norm_forward(size_t i, const float* in, float* y, int64_t rows, bool training) {
  const LayerSpec& L  = layers_[i];
  const LayerState& S = state_[i];
  const int64_t cols  = S.out;
  const float* gamma  = S.gamma >= 0 ? params_.data() + S.gamma : nullptr;
  const float* beta   = S.beta >= 0 ? params_.data() + S.beta : nullptr;
  float* moving_mean  = stats_.data() + S.moving_mean;
  float* moving_var   = stats_.data() + S.moving_var;
  float* mean         = bn_[i].data();  // the statistics this pass uses
  float* inv          = mean + cols;
  float* a            = inv + cols;
  double* dmean       = bn_acc_.data();
  double* dvar        = dmean + cols;
  float* xhat         = training ? pre_[i].data() : nullptr;
  // Keras: variance.add(epsilon), moving * momentum + stat * (1.0 - momentum),
  // each a float32 operation with the Python float rounded to float32
  const float eps  = static_cast<float>(L.epsilon);
  const float keep = static_cast<float>(L.momentum);
  const float take = static_cast<float>(1.0 - L.momentum);
  // Columns are independent (each one's sums run over the rows in order):
  // any split gives the same bits.
  runtime::parallel(rows * cols >= kChunk ? runtime::num_threads() : 1, [&](int tid, int threads) {
    int64_t j0, j1;
    runtime::split_range(cols, threads, tid, &j0, &j1);
    if (training) {
      batch_norm_moments(in, rows, cols, j0, j1, dmean, dvar);
      for (int64_t j = j0; j < j1; ++j) {
        mean[j]         = static_cast<float>(dmean[j]);
        const float var = static_cast<float>(dvar[j]);
        inv[j]          = 1.0f / std::sqrt(var + eps);
        moving_mean[j]  = moving_mean[j] * keep + mean[j] * take;
        moving_var[j]   = moving_var[j] * keep + var * take;
      }
    } else {
      for (int64_t j = j0; j < j1; ++j) {
        mean[j] = moving_mean[j];
        inv[j]  = 1.0f / std::sqrt(moving_var[j] + eps);
      }
    }
    for (int64_t j = j0; j < j1; ++j) a[j] = gamma ? inv[j] * gamma[j] : inv[j];
    batch_norm_apply(y, xhat, in, mean, inv, a, beta, rows, cols, j0, j1);
  });
}

void Network::batch_norm_backward(size_t i, float* d, int64_t rows, bool need_dx) {
  const LayerState& S = state_[i];
  const int64_t cols  = S.out;
  const float* a      = bn_[i].data() + 2 * cols;
  const int threads   = rows * cols >= kChunk ? runtime::num_threads() : 1;
  if (frozen_[i]) {  // inference mode: y = (x - mean) * a + beta, no weight gradients
    if (!need_dx) return;
    runtime::parallel_for_static(threads, rows, [&](int64_t r) {
      float* dr = d + r * cols;
      for (int64_t j = 0; j < cols; ++j) dr[j] *= a[j];
    });
    return;
  }
  const float* xhat = pre_[i].data();
  double* sdy       = bn_acc_.data();
  double* sdx       = sdy + cols;
  runtime::parallel(threads, [&](int tid, int nt) {
    int64_t j0, j1;
    runtime::split_range(cols, nt, tid, &j0, &j1);
    scale_offset_gradients(S, d, xhat, rows, j0, j1);
    if (need_dx) batch_norm_dx(d, d, xhat, a, sdy, sdx, rows, cols, j0, j1);
  });
}

void Network::scale_offset_gradients(const LayerState& S, const float* d, const float* xhat,
                                     int64_t rows, int64_t j0, int64_t j1) {
  double* sdy = bn_acc_.data();
  double* sdx = sdy + S.out;
  batch_norm_sums(d, xhat, rows, S.out, j0, j1, sdy, sdx);
  float* grads = grads_.data();
  for (int64_t j = j0; j < j1; ++j) {
    if (S.gamma >= 0) grads[S.gamma + j] = static_cast<float>(sdx[j]);
    if (S.beta >= 0) grads[S.beta + j] = static_cast<float>(sdy[j]);
  }
}

void Network::prelu_forward(size_t i, const float* in, float* y, int64_t rows) {
  const int64_t cols = state_[i].out;
  const float* alpha = params_.data() + state_[i].alpha;
  runtime::parallel(rows * cols >= kChunk ? runtime::num_threads() : 1, [&](int tid, int threads) {
    int64_t r0, r1;
    runtime::split_range(rows, threads, tid, &r0, &r1);
    nn::prelu_forward(y, in, alpha, cols, r0, r1);
  });
}

void Network::prelu_backward(size_t i, const float* in, float* d, int64_t rows, bool need_dx) {
  const LayerState& S = state_[i];
  const int64_t cols  = S.out;
  const int threads   = rows * cols >= kChunk ? runtime::num_threads() : 1;
  if (!frozen_[i])  // alpha's gradient (columns) before dx overwrites d
    runtime::parallel(threads, [&](int tid, int nt) {
      int64_t j0, j1;
      runtime::split_range(cols, nt, tid, &j0, &j1);
      double* dalpha = bn_acc_.data();
      prelu_dalpha(dalpha, d, in, rows, cols, j0, j1);
      for (int64_t j = j0; j < j1; ++j) grads_.data()[S.alpha + j] = static_cast<float>(dalpha[j]);
    });
  if (!need_dx) return;
  const float* alpha = params_.data() + S.alpha;
  runtime::parallel(threads, [&](int tid, int nt) {
    int64_t r0, r1;
    runtime::split_range(rows, nt, tid, &r0, &r1);
    prelu_dx(d, d, in, alpha, cols, r0, r1);
  });
}

void Network::layer_norm_forward(size_t i, const float* in, float* y, int64_t rows) {
  const LayerState& S = state_[i];
  const int64_t cols  = S.out;
  const float* gamma  = S.gamma >= 0 ? params_.data() + S.gamma : nullptr;
  const float* beta   = S.beta >= 0 ? params_.data() + S.beta : nullptr;
  float* xhat         = pre_[i].data();
  float* inv          = xhat + rows * cols;
  // Keras: the Python float epsilon, rounded to float32 by torch's layer_norm
  const float eps = static_cast<float>(layers_[i].epsilon);
  runtime::parallel(rows * cols >= kChunk ? runtime::num_threads() : 1, [&](int tid, int threads) {
    int64_t r0, r1;
    runtime::split_range(rows, threads, tid, &r0, &r1);
    nn::layer_norm_forward(y, xhat, inv, in, gamma, beta, eps, cols, r0, r1);
  });
}

void Network::layer_norm_backward(size_t i, float* d, int64_t rows, bool need_dx) {
  const LayerState& S = state_[i];
  const int64_t cols  = S.out;
  const float* xhat   = pre_[i].data();
  const float* inv    = xhat + rows * cols;
  const float* gamma  = S.gamma >= 0 ? params_.data() + S.gamma : nullptr;
  const int threads   = rows * cols >= kChunk ? runtime::num_threads() : 1;
  // The weight gradients (columns), then dx in place (rows): dx overwrites d.
  if (!frozen_[i] && (S.gamma >= 0 || S.beta >= 0))
    runtime::parallel(threads, [&](int tid, int nt) {
      int64_t j0, j1;
      runtime::split_range(cols, nt, tid, &j0, &j1);
      scale_offset_gradients(S, d, xhat, rows, j0, j1);
    });
  if (need_dx)
    runtime::parallel(threads, [&](int tid, int nt) {
      int64_t r0, r1;
      runtime::split_range(rows, nt, tid, &r0, &r1);
      layer_norm_dx(d, d, xhat, inv, gamma, cols, r0, r1);
    });
}

void Network::unit_norm_forward(size_t i, const float* in, float* y, int64_t rows) {
  const int64_t cols = state_[i].out;
  runtime::parallel(rows * cols >= kChunk ? runtime::num_threads() : 1, [&](int tid, int threads) {
    int64_t r0, r1;
    runtime::split_range(rows, threads, tid, &r0, &r1);
    nn::unit_norm_forward(y, in, cols, r0, r1);
  });
}

void Network::unit_norm_backward(size_t i, const float* in, float* d, int64_t rows) {
  const int64_t cols = state_[i].out;
  runtime::parallel(rows * cols >= kChunk ? runtime::num_threads() : 1, [&](int tid, int threads) {
    int64_t r0, r1;
    runtime::split_range(rows, threads, tid, &r0, &r1);
    unit_norm_dx(d, d, in, cols, r0, r1);
  });
}

bool Network::trains(size_t i) const {
  if (frozen_[i]) return false;
  const LayerSpec& L = layers_[i];
  return L.type == LayerType::dense || L.type == LayerType::prelu ||
         ((L.type == LayerType::batch_norm || L.type == LayerType::layer_norm) &&
          (L.scale || L.center));
}

void Network::accumulate_loss(const Batch& b, const float* out, float* dout, RunResult* r) {
  const int64_t rows = b.rows, cols = output_dim();
  const ops::LossConfig* cfg = &loss_;  // (no copy per batch: class_alpha is a vector)
  ops::LossConfig on_logits;
  const float* src = out;
  if (fused_) {  // (a cross-entropy: no class_alpha to copy)
    const size_t last     = layers_.size() - 1;
    on_logits             = loss_;
    on_logits.from_logits = true;
    cfg                   = &on_logits;
    if (layers_[last].type == LayerType::dense)
      src = pre_[last].data();
    else
      src = last == 0 ? b.x : out_ptr_[last - 1];
  }
  double loss =
      ops::loss_forward_backward(*cfg, src, b.target, b.labels, b.sample_weight, rows, cols, dout);
  double wsum = 0.0;
  if (b.sample_weight) {
    for (int64_t i = 0; i < rows; ++i) wsum += b.sample_weight[i];
  } else {
    wsum = static_cast<double>(rows);
  }
  // the kernel's sum / rows as the reduction asks (Keras's divide_no_nan)
  double scale = loss_weight_;
  if (reduction_ == LossReduction::sum) scale *= static_cast<double>(rows);
  if (reduction_ == LossReduction::mean_with_sample_weight)
    scale *= wsum != 0.0 ? static_cast<double>(rows) / wsum : 0.0;
  if (scale != 1.0) {  // the loss and its gradient (not the metrics below)
    loss *= scale;
    if (dout) {
      const float w = static_cast<float>(scale);
      for (int64_t k = 0; k < rows * cols; ++k) dout[k] *= w;
    }
  }
  r->loss_sum += loss * static_cast<double>(rows);
  r->samples += static_cast<double>(rows);
  r->weight_sum += wsum;
  for (const MetricRun& run : metric_runs_) {
    const ops::MetricConfig& first = metrics_[run.begin];
    const float* weights           = first.weighted ? b.sample_weight : nullptr;
    if (ops::metric_vector_size(first.kind, cols)) {
      ops::metric_vector_sums(first, out, b.target, weights, rows, cols, run_sums_.data());
      for (size_t i = run.begin; i < run.end; ++i) r->metric_sums[i] += run_sums_[metrics_[i].part];
      continue;
    }
    if (run.end - run.begin == 1) {
      if (metric_on_logits_[run.begin]) {  // (src holds the logits: fused_)
        ops::MetricConfig on_logits = first;
        on_logits.from_logits       = true;
        r->metric_sums[run.begin] +=
            ops::metric_sum(on_logits, src, b.target, b.labels, weights, rows, cols);
      } else {
        r->metric_sums[run.begin] +=
            ops::metric_sum(first, out, b.target, b.labels, weights, rows, cols);
      }
      continue;
    }
    const int64_t n = static_cast<int64_t>(run.end - run.begin);
    for (int64_t i = 0; i < n; ++i) run_thresholds_[i] = metrics_[run.begin + i].threshold;
    ops::confusion_sums_sorted(first.kind, run_thresholds_.data(), n, out, b.target, weights, rows,
                               cols, run_buckets_.data(), run_sums_.data(), first.clip_to_unit);
    for (int64_t i = 0; i < n; ++i) r->metric_sums[run.begin + i] += run_sums_[i];
  }
}

int64_t Network::width(int64_t layer) const {
  if (layer < -1 || layer >= static_cast<int64_t>(layers_.size()))
    throw std::invalid_argument("layer " + std::to_string(layer) + " is outside [-1, " +
                                std::to_string(layers_.size()) + ")");
  return layer < 0 ? input_dim_ : widths_[static_cast<size_t>(layer)];
}

void Network::predict(const float* x, int64_t rows, float* out, int64_t batch_size, bool training) {
  predict_outputs(x, rows, batch_size, {static_cast<int64_t>(layers_.size()) - 1}, {out}, training);
}

void Network::predict_outputs(const float* x, int64_t rows, int64_t batch_size,
                              const std::vector<int64_t>& layers, const std::vector<float*>& outs,
                              bool training) {
  if (layers.size() != outs.size())
    throw std::invalid_argument("predict_outputs: " + std::to_string(layers.size()) +
                                " layers but " + std::to_string(outs.size()) + " outputs");
  std::vector<int64_t> widths(layers.size());
  for (size_t k = 0; k < layers.size(); ++k) widths[k] = width(layers[k]);
  std::lock_guard<std::mutex> lock(mutex_);
  if (batch_size <= 0 || batch_size > rows) batch_size = rows;
  if (rows == 0) {  // an empty pass: each activity penalty 0 (Keras's model.losses after it)
    std::fill(activity_last_.begin(), activity_last_.end(), 0.0);
    activity_sum_  = 0.0;
    activity_seen_ = true;
    return;
  }
  // Rows are independent and each output row is the same bits whatever rows
  // go through the layers with it, so batch_size only sets the pieces'
  // length. Larger batches are computed kInferenceChunkRows at a time: the
  // layers' outputs then stay in L2 between layers (10,000 rows of the seed
  // network: 16.3-17.5 ms against 18.2-19.7 in one piece on 2 threads).
  // Smaller ones (Keras's default 32) are raised to that too, as long as a
  // layer's output stays within kInferenceChunkFloats: each piece packs every
  // weight matrix again, which at 32 rows took half of a 784-1024-1024-10
  // network's predict (session 19: 117 ms for 1,024 rows against 52 ms).
  // (Not with an activity regularizer: model.losses then reports the
  // penalty of the last batch of the user's batch_size, as Keras's.)
  // (Training mode: all rows in one pass, whose statistics a
  // BatchNormalization layer uses, as Keras's call.)
  const bool activity       = std::any_of(layers_.begin(), layers_.end(), has_activity);
  const int64_t budget_rows = std::max<int64_t>(1, kInferenceChunkFloats / max_width_);
  const int64_t piece       = activity ? batch_size : std::max(batch_size, budget_rows);
  batch_size                = training ? rows : std::min({rows, kInferenceChunkRows, piece});
  reserve(batch_size);
  struct StreamGuard {  // the stream back to training's (0), exceptions included
    uint64_t& stream;
    ~StreamGuard() { stream = 0; }
  } guard{draw_stream_};
  if (training) draw_stream_ = ++eager_draws_;
  runtime::run_in_team(team_threads(batch_size, 1), [&] {
    for (int64_t off = 0; off < rows; off += batch_size) {
      const int64_t r = std::min(batch_size, rows - off);
      const float* in = x + off * input_dim_;
      forward(in, r, training);
      // out_ptr_[i]: layer i's output (the input itself for an identity layer)
      for (size_t k = 0; k < layers.size(); ++k) {
        const float* y = layers[k] < 0 ? in : out_ptr_[static_cast<size_t>(layers[k])];
        std::memcpy(outs[k] + off * widths[k], y,
                    static_cast<size_t>(r * widths[k]) * sizeof(float));
      }
    }
  });
}

double Network::regularize(bool add_grad) {
  const int64_t chunks = static_cast<int64_t>(reg_chunks_.size());
  if (chunks == 0) return 0.0;
  const float* w = params_.data();
  float* g       = grads_.data();
  double* part   = reg_partial_.data();
  runtime::parallel_for_static(
      chunks >= kMinParallelChunks ? runtime::num_threads() : 1, chunks, [&](int64_t c) {
        const RegChunk& ch = reg_chunks_[static_cast<size_t>(c)];
        part[c]            = frozen_[static_cast<size_t>(ch.layer)]
                                 ? 0.0
                                 : penalty_pass(w, add_grad ? g : nullptr, ch.begin, ch.end, ch.l1, ch.l2);
      });
  double total = 0.0;
  for (int64_t c = 0; c < chunks; ++c) total += part[c];
  return total;
}

double Network::regularization_penalty() {
  std::lock_guard<std::mutex> lock(mutex_);
  return regularize(false);
}

void Network::train_batch_locked(const Batch& batch, RunResult* acc,
                                 const runtime::TaskRef* background,
                                 runtime::BackgroundTask* task) {
  const float* y = forward(batch.x, batch.rows, true, background, task);
  float* dout    = dbuf_[0].data();
  accumulate_loss(batch, y, dout, acc);
  acc->loss_sum += activity_sum_;  // rows * (its share of the batch loss)
  backward(batch.x, batch.rows, dout);
  // the penalty of the weights this step's forward pass used (Keras adds it
  // to the batch loss it reports, weighted by the batch size)
  acc->loss_sum += regularize(true) * static_cast<double>(batch.rows);
  ++acc->steps;
}

RunResult Network::train_batch(const Batch& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  reserve(batch.rows);
  RunResult r;
  r.metric_sums.assign(metrics_.size(), 0.0);
  runtime::run_in_team(team_threads(batch.rows, 3), [&] { train_batch_locked(batch, &r); });
  return r;
}

void Network::set_trainable(const std::vector<bool>& trainable) {
  if (trainable.size() != layers_.size())
    throw std::invalid_argument("set_trainable: " + std::to_string(trainable.size()) +
                                " flags for " + std::to_string(layers_.size()) + " layers");
  std::lock_guard<std::mutex> lock(mutex_);
  first_trainable_ = static_cast<int>(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) frozen_[i] = trainable[i] ? 0 : 1;
  for (size_t i = 0; i < layers_.size(); ++i)
    if (trains(i)) first_trainable_ = std::min(first_trainable_, static_cast<int>(i));
  for (const TensorInfo& t : tensors_)  // a frozen tensor's gradient reads as 0
    if (frozen_[static_cast<size_t>(t.layer)])
      std::fill(grads_.data() + t.offset, grads_.data() + t.offset + t.size(), 0.0f);
}

void Network::sgd_step(float learning_rate) {
  std::lock_guard<std::mutex> lock(mutex_);
  SgdUpdater(learning_rate).step(params_.data(), grads_.data(), buffer_size_);
  apply_constraints();
  ++iterations_;
}

void Network::add_activity(size_t i, const float* y, int64_t rows) {
  const double penalty = activity_penalty(i, y, rows);
  activity_sum_ += penalty;
  activity_last_[i] = rows > 0 ? penalty / static_cast<double>(rows) : 0.0;  // divide_no_nan
}

std::vector<double> Network::last_activity_losses() {
  std::lock_guard<std::mutex> lock(mutex_);
  return activity_seen_ ? activity_last_ : std::vector<double>{};
}

double Network::activity_penalty(size_t i, const float* y, int64_t rows) const {
  const LayerSpec& L = layers_[i];
  const int64_t n    = rows * state_[i].out;
  double l1 = 0.0, l2 = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double v = y[k];
    l1 += std::fabs(v);
    l2 += v * v;
  }
  return static_cast<double>(L.activity_l1) * l1 + static_cast<double>(L.activity_l2) * l2;
}

void Network::add_activity_gradient(size_t i, float* d, int64_t rows) const {
  // d(l1 * sum|y| + l2 * sum y^2) / rows: (l1 * sign(y) + 2 * l2 * y) / rows
  const LayerSpec& L = layers_[i];
  const float* y     = out_ptr_[i];
  const float inv    = 1.0f / static_cast<float>(rows);
  const float l1 = L.activity_l1 * inv, l2 = 2.0f * L.activity_l2 * inv;
  const int64_t n = rows * state_[i].out;
  for (int64_t k = 0; k < n; ++k) {
    const float v    = y[k];
    const float sign = static_cast<float>((v > 0.0f) - (v < 0.0f));
    d[k] += l1 * sign + l2 * v;
  }
}

void Network::apply_constraints() {
  constexpr float kEpsilon = 1e-7f;  // keras.config.epsilon()
  float* params            = params_.data();
  for (const ConstrainedTensor& t : constrained_) {
    if (frozen_[static_cast<size_t>(t.layer)]) continue;  // Keras: trainable variables only
    const Constraint& c = t.constraint;
    float* w            = params + t.offset;
    const int64_t rows = t.rows, cols = std::max<int64_t>(t.cols, 1);
    if (c.kind == ConstraintKind::non_neg) {
      for (int64_t k = 0; k < rows * cols; ++k) w[k] = w[k] < 0.0f ? 0.0f : w[k];  // NaN kept
      continue;
    }
    // The factor for a norm n: desired / (eps + n), in float32 as Keras.
    auto factor = [&](double sum_squares) {
      const float n = std::sqrt(static_cast<float>(sum_squares));
      switch (c.kind) {
        case ConstraintKind::max_norm:
          return std::min(std::max(n, 0.0f), c.max_value) / (kEpsilon + n);
        case ConstraintKind::min_max_norm: {
          const float clipped = std::min(std::max(n, c.min_value), c.max_value);
          return (c.rate * clipped + (1.0f - c.rate) * n) / (kEpsilon + n);
        }
        default:  // unit_norm divides: w / (eps + n)
          return kEpsilon + n;
      }
    };
    const bool divide    = c.kind == ConstraintKind::unit_norm;
    auto scale           = [&](float& v, float f) { v = divide ? v / f : v * f; };
    const bool rows_only = c.over_rows && !(c.over_cols && t.cols > 0);
    if (rows_only && t.cols > 0) {  // one norm per column
      double* sums = constraint_sums_.data();
      std::fill(sums, sums + cols, 0.0);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) {
          const double v = w[r * cols + j];
          sums[j] += v * v;
        }
      std::vector<float>& f = constraint_factors_;
      f.resize(static_cast<size_t>(cols));
      for (int64_t j = 0; j < cols; ++j) f[static_cast<size_t>(j)] = factor(sums[j]);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) scale(w[r * cols + j], f[static_cast<size_t>(j)]);
    } else if (!c.over_rows && t.cols > 0) {  // one norm per row
      for (int64_t r = 0; r < rows; ++r) {
        double sum = 0.0;
        for (int64_t j = 0; j < cols; ++j)
          sum += static_cast<double>(w[r * cols + j]) * w[r * cols + j];
        const float f = factor(sum);
        for (int64_t j = 0; j < cols; ++j) scale(w[r * cols + j], f);
      }
    } else {  // one norm for the whole tensor (a bias, or a kernel over both axes)
      double sum = 0.0;
      for (int64_t k = 0; k < rows * cols; ++k) sum += static_cast<double>(w[k]) * w[k];
      const float f = factor(sum);
      for (int64_t k = 0; k < rows * cols; ++k) scale(w[k], f);
    }
  }
}

RunResult Network::train_epoch(const Batch& data, const int64_t* order, int64_t order_len,
                               int64_t batch_size, int64_t step_begin, int64_t step_end,
                               Updater& updater, bool keep_outputs) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  RunResult total;
  total.metric_sums.assign(metrics_.size(), 0.0);
  reserve(std::min(batch_size, std::max<int64_t>(order_len, 1)));
  const int64_t in = input_dim_, ow = output_dim();
  runtime::run_in_team(team_threads(batch_size, 3), [&] {
    // Copies rows [r0, r1) of the batch from order[b0] into buffer k.
    auto gather = [&](int k, int64_t b0, int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t idx = order[b0 + r];
        std::memcpy(xg_[k].data() + r * in, data.x + idx * in,
                    static_cast<size_t>(in) * sizeof(float));
        if (data.target)
          std::memcpy(tg_[k].data() + r * ow, data.target + idx * ow,
                      static_cast<size_t>(ow) * sizeof(float));
        if (data.labels) lg_[k].data()[r] = data.labels[idx];
        if (data.sample_weight) wg_[k].data()[r] = data.sample_weight[idx];
      }
    };
    auto rows_at = [&](int64_t b0) { return std::min(batch_size, order_len - b0); };
    // The next batch's rows are copied by the idle workers while this thread
    // runs a step's serial stretch (the small last layers, the loss): they do
    // not depend on the step. A worker copies rows one at a time until the
    // step needs it again (the next parallel product); the rows it did not
    // reach are copied by every thread when the next step begins. A copy: the
    // result does not depend on who makes it.
    int next_k      = 0;
    int64_t next_b0 = 0;
    std::atomic<int64_t> next_claimed{0};  // rows of the next batch taken
    auto copy_next_rows = [&](int, int) {
      const int64_t rows = rows_at(next_b0);
      while (!runtime::background_stop_requested()) {
        const int64_t r = next_claimed.fetch_add(1, std::memory_order_relaxed);
        if (r >= rows) break;
        gather(next_k, next_b0, r, r + 1);
      }
    };
    const runtime::TaskRef copy_next(copy_next_rows);
    runtime::BackgroundTask copying;  // joins before copy_next goes
    int k = 0;
    for (int64_t s = step_begin; s < step_end; ++s) {
      const int64_t b0 = s * batch_size;
      if (b0 >= order_len) break;
      copying.join();
      const int64_t rows   = rows_at(b0);
      const int64_t copied = s == step_begin ? 0 : std::min(rows, next_claimed.load());
      if (copied < rows) {
        // The batch's rows are scattered over the data set (DRAM when it is
        // larger than the caches): copying them on every thread keeps more
        // misses in flight.
        const int64_t left = rows - copied;
        runtime::parallel(left * in >= kMinParallelGatherFloats ? runtime::num_threads() : 1,
                          [&](int tid, int threads) {
                            int64_t r0, r1;
                            runtime::split_range(left, threads, tid, &r0, &r1);
                            gather(k, b0, copied + r0, copied + r1);
                          });
      }
      Batch b;
      b.x             = xg_[k].data();
      b.target        = data.target ? tg_[k].data() : nullptr;
      b.labels        = data.labels ? lg_[k].data() : nullptr;
      b.sample_weight = data.sample_weight ? wg_[k].data() : nullptr;
      b.rows          = rows;
      const bool more = s + 1 < step_end && b0 + batch_size < order_len;
      next_k          = k ^ 1;
      next_b0         = b0 + batch_size;
      next_claimed.store(0, std::memory_order_relaxed);
      train_batch_locked(b, &total, more ? &copy_next : nullptr, &copying);
      if (keep_outputs) keep_last_outputs(&total);  // (before the step: the outputs stay)
      updater.step(params_.data(), grads_.data(), buffer_size_);
      if (!constrained_.empty()) apply_constraints();
      ++iterations_;
      k ^= 1;
    }
  });
  return total;
}

RunResult Network::evaluate(const Batch& data, int64_t batch_size, bool keep_outputs) {
  std::lock_guard<std::mutex> lock(mutex_);
  RunResult total;
  total.metric_sums.assign(metrics_.size(), 0.0);
  const int64_t rows = data.rows;
  if (rows == 0) return total;
  if (batch_size <= 0 || batch_size > rows) batch_size = rows;
  reserve(batch_size);
  const int64_t ow     = output_dim();
  const double penalty = regularize(false);  // the weights do not change here
  runtime::run_in_team(team_threads(batch_size, 1), [&] {
    for (int64_t off = 0; off < rows; off += batch_size) {
      Batch b;
      b.rows          = std::min(batch_size, rows - off);
      b.x             = data.x + off * input_dim_;
      b.target        = data.target ? data.target + off * ow : nullptr;
      b.labels        = data.labels ? data.labels + off : nullptr;
      b.sample_weight = data.sample_weight ? data.sample_weight + off : nullptr;
      const float* y  = forward(b.x, b.rows, false);
      accumulate_loss(b, y, nullptr, &total);
      total.loss_sum += penalty * static_cast<double>(b.rows) + activity_sum_;
      ++total.steps;
    }
  });
  if (keep_outputs) keep_last_outputs(&total);
  return total;
}

void Network::keep_last_outputs(RunResult* r) const {
  const int64_t rows = last_out_ == nullptr ? 0 : last_rows_;
  const float* y     = last_out_;
  r->outputs.insert(r->outputs.end(), y, y + rows * output_dim());
  r->output_rows += rows;
}

}  // namespace fastnn::nn
