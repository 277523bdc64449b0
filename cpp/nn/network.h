// nn::Network: a sequential MLP that trains with one call per batch (or per
// run of steps) and owns all of its memory.
//
// Layers (LayerSpec), applied in order to a (rows, input_dim) row-major batch:
//   dense       y = act(x W + b)    W (in, units) row-major, b (units,); use_bias=false drops b
//   activation  y = act(x)
//   (act_param: leaky_relu's negative slope or elu's alpha, see ops/activations.h)
//   dropout     training: y = x * m / (1 - rate), m ~ Bernoulli(1 - rate) per element;
//               inference: y = x. m is a pure function of (seed, iteration, layer,
//               element): counter-based, independent of threads and batch layout.
//   gaussian_noise, gaussian_dropout, alpha_dropout
//               Keras 3's noise layers (nn/noise.h has the formulas): training
//               adds N(0, stddev^2), multiplies by N(1, rate / (1 - rate)), or
//               applies AlphaDropout's mask and affine map; inference: y = x.
//               The noise is a pure function of (seed, iteration, layer,
//               element), as dropout's mask; backward multiplies by the kept
//               factor (passes dy through for gaussian_noise).
//   prelu       Keras 3's PReLU with one alpha per feature (nn/prelu.h):
//               y = relu(x) - alpha * relu(-x); alpha, (features,), is a
//               tensor of the parameter buffer.
//   layer_norm  Keras 3's LayerNormalization over each sample's features
//               (axis=-1), see nn/layer_norm.h: y = (x - mean) * inv * gamma + beta
//               with the row's mean and biased variance, inv = 1 / sqrt(var +
//               epsilon); gamma (scale=true) and beta (center=true) are
//               (features,) tensors of the parameter buffer. The same in
//               training and inference (no statistics are kept).
//   unit_norm   Keras 3's UnitNormalization over each sample's features
//               (axis=-1), see nn/unit_norm.h: y = x * min(1 / |x|_2, 1e12).
//               No weights; backward computes each row's factor again.
//   activity_regularization
//               Keras 3's ActivityRegularization: y = x (no copy), and the
//               penalty of its input joins the loss as a Dense layer's
//               activity regularizer does (activity_l1, activity_l2 below).
//   batch_norm  Keras 3's BatchNormalization over the features (axis=-1), see
//               nn/batch_norm.h for the formulas: y = (x - mean) * inv * gamma + beta,
//               inv = 1 / sqrt(var + epsilon); gamma (scale=true) and beta
//               (center=true) are (features,) tensors of the parameter buffer.
//               Training mode (a training step and the layer trainable): mean
//               and biased variance of the batch's rows (double sums, rows in
//               order), and once per step
//                 moving_mean     = moving_mean * momentum + mean * (1 - momentum)
//                 moving_variance = moving_variance * momentum + var * (1 - momentum)
//               in float32, as Keras. Otherwise (predict, evaluate, or a frozen
//               layer, which Keras 3 runs in inference mode even inside fit):
//               the moving statistics, unchanged. The moving statistics live in
//               a separate float32 state buffer (stats(), stat_tensors()): no
//               optimizer sees them. Backward: dgamma = sum dy * xhat, dbeta =
//               sum dy, dx = gamma * inv / N * (N dy - sum dy - xhat sum(dy xhat))
//               in training mode, dx = dy * gamma * inv in inference mode.
// (Flatten is a reshape the Python front resolves: rows stay rows.)
// No layers at all is the identity, y = x (a model of preprocessing layers,
// which the Python front applies to the inputs): output_dim() == input_dim(),
// the loss is computed on the inputs and nothing trains.
//
// Weight regularization (keras.regularizers L1/L2/L1L2 on a Dense kernel or
// bias): each regularized tensor w adds the penalty l1 * sum|w| + l2 * sum w^2
// (no 1/2, as Keras) to the loss and l1 * sign(w) + 2 * l2 * w (sign(0) = 0)
// to its gradient, in one pass after backward. As in Keras 3 (the trainer's
// compute_loss serves train and test steps), the penalty of the current
// weights is part of the reported loss in training AND in evaluate: each
// batch reports loss_b + penalty, so RunResult::loss_sum holds
// sum_b rows_b * (loss_b + penalty_b). The penalty sum runs over fixed chunks
// of at most 32768 floats, each summed in 32 double accumulators (by index
// mod 32) combined in a fixed order, the chunks in chunk order: independent of
// the thread count.
//
// Parameters live in ONE 64-byte-aligned float32 buffer, in layer order, each
// tensor (kernel, then bias) starting on a 64-byte boundary; the gradient
// buffer has the same layout and padding (kept at zero). `tensors()` lists
// (offset, shape). train_batch OVERWRITES the gradients (never accumulates).
//
// The loss (ops/losses.h) is computed on the last layer's output. When the
// last layer's activation is softmax and the loss a categorical (or sparse
// categorical) cross-entropy on probabilities, or sigmoid with binary
// cross-entropy, the loss is computed from the logits in the stable form
// (gradient softmax - onehot, resp. sigmoid - t), as Keras does for outputs
// it knows came from softmax/sigmoid; the value equals the probability form
// wherever the probabilities lie in [1e-7, 1 - 1e-7].
//
// Workspaces (activations, pre-activations, dropout masks, two gradient
// buffers, the gathered batch) grow to the largest batch seen and are reused:
// no allocation once the largest batch has run. Threads: the GEMMs and
// elementwise kernels are deterministic for any thread count, reductions (bias
// gradients, loss) run in a fixed order, so results are bit-identical for
// every thread count. Public methods lock a mutex: one call at a time.
#pragma once

#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "ops/activation_kind.h"
#include "ops/losses.h"
#include "runtime/aligned_buffer.h"
#include "runtime/team.h"

namespace fastnn::nn {

enum class LayerType : int {
  dense = 0,
  activation,
  dropout,
  batch_norm,
  gaussian_noise,
  gaussian_dropout,
  alpha_dropout,
  layer_norm,
  prelu,
  activity_regularization,
  unit_norm,
};

// A Keras weight constraint on a dense layer's kernel or bias, applied after
// every optimizer step while the layer trains (keras/src/constraints):
//   max_norm      w * clip(n, 0, max_value) / (1e-7 + n)
//   min_max_norm  w * (rate * clip(n, min_value, max_value) + (1 - rate) n) / (1e-7 + n)
//   unit_norm     w / (1e-7 + n)
//   non_neg       maximum(w, 0)
// n: the square root of the sum of squares over the weight's rows (Keras's
// axis 0: one norm per column, i.e. per unit of a kernel (in, units)), its
// columns (axis 1) or both; a bias's one axis is `over_rows`. Sums in double,
// rounded once to float32; the rest in float32 as Keras's ops; clip is
// torch.clamp (min(max(n, lo), hi), NaN kept).
enum class ConstraintKind : uint8_t { none, max_norm, min_max_norm, unit_norm, non_neg };
struct Constraint {
  ConstraintKind kind = ConstraintKind::none;
  float min_value = 0.0f, max_value = 0.0f, rate = 1.0f;
  bool over_rows = true, over_cols = false;
};

struct LayerSpec {
  LayerType type          = LayerType::dense;
  int64_t units           = 0;  // dense
  ops::ActivationKind act = ops::ActivationKind::linear;
  // leaky_relu slope / elu alpha / relu_clipped's negative slope
  // (ops/activations.h); NaN: Keras's default
  float act_param = std::numeric_limits<float>::quiet_NaN();
  // relu_clipped: max_value (+inf: none) and threshold, both >= 0
  float act_max_value = std::numeric_limits<float>::infinity();
  float act_threshold = 0.0f;
  bool use_bias       = true;  // dense
  float rate          = 0.0f;  // dropout, gaussian_dropout, alpha_dropout: in [0, 1)
  // gaussian_dropout, alpha_dropout: the rate as the caller's double, from
  // which Keras computes the stddev and AlphaDropout's a, b (NaN: rate)
  double rate_double = std::numeric_limits<double>::quiet_NaN();
  float stddev       = 0.0f;  // gaussian_noise: in [0, 1] (Keras's bounds)
  uint64_t seed      = 0;     // dropout and the noise layers
  // dense: penalty factors, finite and >= 0 (0 = none)
  float kernel_l1 = 0.0f, kernel_l2 = 0.0f;
  float bias_l1 = 0.0f, bias_l2 = 0.0f;
  Constraint kernel_constraint, bias_constraint;  // dense
  // dense, activity_regularization: Keras's activity regularizer on the
  // layer's output y, finite and >= 0: (activity_l1 * sum|y| + activity_l2 *
  // sum y^2) / rows joins the batch loss (Keras 3 divides by the batch size),
  // its gradient dy
  float activity_l1 = 0.0f, activity_l2 = 0.0f;
  // batch_norm: momentum in [0, 1], epsilon > 0 (doubles as Keras's Python
  // floats; the float32 arithmetic rounds them as torch does)
  double momentum = 0.99, epsilon = 1e-3;
  bool center = true, scale = true;
};

// A moving statistic of a batch_norm layer in the state buffer.
// Keras's Loss reduction of a batch's per-sample losses l_r with weights w_r
// (keras/src/losses/loss.py reduce_values), as a training loss:
//   sum_over_batch_size (and "mean")  sum_r w_r l_r / rows (the kernels' own)
//   sum                               sum_r w_r l_r
//   mean_with_sample_weight           sum_r w_r l_r / sum_r w_r (0 when that is 0;
//                                     / rows without sample weights)
// The reported loss is the batches' losses averaged by batch size, as Keras's
// loss tracker.
enum class LossReduction : int { sum_over_batch_size = 0, sum, mean_with_sample_weight };

// Keras's reduction names ("sum_over_batch_size", "mean", "sum",
// "mean_with_sample_weight"); std::invalid_argument for another.
LossReduction loss_reduction_from_name(const std::string& name);

struct StatInfo {
  int64_t offset;  // floats from the start of the state buffer
  int64_t size;    // the layer's features
  int layer;
  bool is_variance;  // moving_variance, else moving_mean
};

struct TensorInfo {
  int64_t offset;  // floats from the start of the parameter buffer
  int64_t rows;    // kernel: in; bias: units
  int64_t cols;    // kernel: units; bias: 0 (1-D)
  int layer;       // index into the layer list
  bool is_bias;
  int64_t size() const { return cols ? rows * cols : rows; }
};

// Sums over the batches of a run; Keras-style means are
//   loss     = loss_sum / samples            (batch losses weighted by batch size)
//   metric k = metric_sums[k] / weight_sum   (a weighted metric)
//   metric k = metric_sums[k] / samples      (an unweighted one, as Keras's `metrics`)
struct RunResult {
  double loss_sum   = 0.0;  // sum over batches of rows_b * loss_b
  double samples    = 0.0;
  double weight_sum = 0.0;  // sum of sample weights (rows when unweighted)
  std::vector<double> metric_sums;
  int64_t steps = 0;
  // With keep_outputs: the outputs (output_rows, output_dim) of the call's
  // forward passes, one batch after the other: train_epoch keeps every
  // step's, evaluate its last batch's (for metrics computed in Python).
  std::vector<float> outputs;
  int64_t output_rows = 0;
};

// The update applied after each batch's backward pass in train_epoch.
class Updater {
 public:
  virtual ~Updater() = default;
  // params -= f(grads): one pass over the n floats of the flat buffers.
  virtual void step(float* params, const float* grads, int64_t n) = 0;
};

// Plain SGD, p -= lr * g (Keras SGD with momentum 0).
class SgdUpdater : public Updater {
 public:
  explicit SgdUpdater(float learning_rate) : lr_(learning_rate) {}
  void step(float* params, const float* grads, int64_t n) override;

 private:
  float lr_;
};

// Batch inputs. x is (rows, input_dim); exactly one of `target` (rows,
// output_dim) and `labels` (rows,) is used, as the loss requires (labels for
// sparse categorical cross-entropy); `sample_weight` (rows,) may be null.
struct Batch {
  const float* x             = nullptr;
  const float* target        = nullptr;
  const int32_t* labels      = nullptr;
  const float* sample_weight = nullptr;
  int64_t rows               = 0;
};

class Network {
 public:
  // Throws std::invalid_argument for units < 1, input_dim < 1, a dropout
  // (or gaussian/alpha dropout) rate outside [0, 1), a gaussian_noise stddev outside [0, 1],
  // relu_clipped parameters that are negative or NaN (or infinite, but for max_value), a negative
  // or non-finite regularization factor, a non-finite act_param, a negative elu alpha, a batch_norm
  // momentum outside [0, 1] or an epsilon that is not finite and > 0.
  Network(int64_t input_dim, std::vector<LayerSpec> layers);
  Network(const Network&)            = delete;
  Network& operator=(const Network&) = delete;

  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return widths_.empty() ? input_dim_ : widths_.back(); }
  // The width of layer `layer`'s output; -1: the input's (input_dim).
  int64_t width(int64_t layer) const;
  int64_t num_params() const { return num_params_; }
  // Size of the flat buffers including alignment padding.
  int64_t buffer_size() const { return buffer_size_; }
  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // The batch_norm layers' moving statistics (mean, then variance, per layer;
  // initially 0 and 1), each on a 64-byte boundary; stats_size() includes
  // the padding.
  float* stats() { return stats_.data(); }
  int64_t stats_size() const { return stats_size_; }
  const std::vector<StatInfo>& stat_tensors() const { return stat_tensors_; }
  const std::vector<LayerSpec>& layers() const { return layers_; }

  // Throws std::invalid_argument when a metric does not read the targets the
  // loss takes (class ids for sparse_categorical_crossentropy, arrays
  // otherwise: see ops::metric_takes_labels) or a top-k metric has k < 1.
  // loss_weight (finite, else std::invalid_argument) scales the loss and its
  // gradient (Keras's loss_weights), not the metrics or the penalties.
  // reduction: how a batch's weighted per-sample losses become its loss
  // (Keras's Loss reduction, see LossReduction).
  void set_loss(const ops::LossConfig& loss, std::vector<ops::MetricConfig> metrics = {},
                double loss_weight      = 1.0,
                LossReduction reduction = LossReduction::sum_over_batch_size);
  const ops::LossConfig& loss() const { return loss_; }
  const std::vector<ops::MetricConfig>& metrics() const { return metrics_; }
  // True when the loss is computed from the logits of the last activation.
  bool fused_output() const { return fused_; }

  // The regularization penalty of the current weights (0 without
  // regularizers): what train_batch and evaluate add to each batch's loss.
  double regularization_penalty();

  // Per layer, its activity penalty in the last forward pass (training,
  // evaluation or prediction) divided by that pass's rows: Keras's
  // model.losses entry, penalty(y) / batch_size (0 for a layer without an
  // activity penalty). Empty before the first forward pass.
  std::vector<double> last_activity_losses();

  // Per layer, whether it trains (Keras's layer.trainable). A frozen layer's
  // weights get no gradient (its grads stay 0, so an update that reads them
  // moves nothing; the fused optimizer also skips them, see
  // optim::Optimizer::set_frozen) and its regularization penalty leaves the
  // loss, as Keras counts only trainable weights' penalties; backward stops
  // below the lowest trainable layer. One flag per layer, else
  // std::invalid_argument.
  void set_trainable(const std::vector<bool>& trainable);
  bool trainable(int layer) const { return frozen_.at(static_cast<size_t>(layer)) == 0; }

  // Dropout masks depend on the iteration; train_epoch increments it per step.
  int64_t iterations() const { return iterations_; }
  // The fraction of steps the first layer's last compacted weight gradient
  // kept (1 when it ran dense; see input_kept_).
  double input_kept() const { return input_kept_; }
  void set_iterations(int64_t it) { iterations_ = it; }

  // Inference: out (rows, output_dim) = network(x), batch_size rows at a time
  // (batch_size <= 0: all rows at once). No gradients kept.
  //
  // training = true is Keras's model(x, training=True) (Monte Carlo dropout):
  // all rows in one forward pass in training mode, no loss, no gradients.
  // Dropout and noise layers draw a new mask on each such call (the keys of
  // a training step's masks with a per-call stream mixed in, so fit's masks
  // stay what they were), and a trainable BatchNormalization uses the rows'
  // statistics and updates its moving ones, as Keras's call does.
  void predict(const float* x, int64_t rows, float* out, int64_t batch_size, bool training = false);
  // predict keeping several layers' outputs from the same forward passes:
  // outs[k] (rows, width(layers[k])) receives layer layers[k]'s output,
  // -1 the input x itself (a feature extractor's intermediate activations).
  // std::invalid_argument for a layer index outside [-1, layers) or sizes
  // that differ.
  void predict_outputs(const float* x, int64_t rows, int64_t batch_size,
                       const std::vector<int64_t>& layers, const std::vector<float*>& outs,
                       bool training = false);

  // Forward (training mode) + loss + backward into grads(); returns the
  // batch's loss and metric sums (steps = 1). Does not update the weights.
  RunResult train_batch(const Batch& batch);

  // p -= lr * g over the whole flat buffer; increments iterations().
  void sgd_step(float learning_rate);

  // Steps [step_begin, step_end) of an epoch: step s trains on the samples
  // order[s * batch_size : min((s + 1) * batch_size, order_len)] gathered from
  // `data` (whose rows index the full arrays), then calls updater.step and
  // increments iterations(). Returns the sums over those steps.
  // keep_outputs: every step's outputs are copied into the result.
  RunResult train_epoch(const Batch& data, const int64_t* order, int64_t order_len,
                        int64_t batch_size, int64_t step_begin, int64_t step_end, Updater& updater,
                        bool keep_outputs = false);

  // Loss and metric sums in inference mode (no dropout, no gradients) over
  // all rows of `data`, batch_size rows at a time.
  // keep_outputs: the last batch's outputs are copied into the result.
  RunResult evaluate(const Batch& data, int64_t batch_size, bool keep_outputs = false);

 private:
  // The last forward pass's outputs appended to r (keep_outputs; the lock held).
  void keep_last_outputs(RunResult* r) const;

  struct LayerState {
    int64_t in = 0, out = 0;
    int64_t kernel = -1, bias = -1;  // offsets into params_, -1 if none
    bool epilogue_act = false;       // act fused in the GEMM epilogue
    bool keep_pre     = false;       // pre-activation stored (dense)
    // batch_norm: gamma/beta offsets into params_ (-1 if none), moving
    // mean/variance offsets into stats_
    int64_t gamma = -1, beta = -1, moving_mean = -1, moving_var = -1;
    int64_t alpha = -1;  // prelu: its alpha's offset into params_
  };

  // Sizes the workspaces for batches of up to `rows`; a batch too large for
  // the memory throws runtime::AllocationError naming it and batch_size.
  void reserve(int64_t rows);
  void reserve_workspaces(int64_t rows);
  // Runs the layers; training enables dropout and keeps what backward needs.
  // Returns the output (rows, output_dim) in the workspace.
  // With `background`, starts it (runtime::BackgroundTask) on the idle
  // workers once the layers that run on several threads are done.
  const float* forward(const float* x, int64_t rows, bool training,
                       const runtime::TaskRef* background = nullptr,
                       runtime::BackgroundTask* task      = nullptr);
  // The first layer from which every layer of a batch of `rows` runs on one
  // thread (layers_.size() if the last one does not).
  size_t serial_tail_begin(int64_t rows) const;
  void backward(const float* x, int64_t rows, float* dout);
  // The batch_norm layer i on in (rows, features) into y; training: batch
  // statistics, x-hat kept in pre_[i], moving statistics updated.
  void batch_norm_forward(size_t i, const float* in, float* y, int64_t rows, bool training);
  void batch_norm_backward(size_t i, float* d, int64_t rows, bool need_dx);
  // gamma's and beta's gradients (those S has) for the columns [j0, j1):
  // batch_norm_sums of d and xhat over the rows, through bn_acc_.
  void scale_offset_gradients(const LayerState& S, const float* d, const float* xhat, int64_t rows,
                              int64_t j0, int64_t j1);
  // The prelu layer i (its input `in`): y, and in backward dx in place of d
  // and alpha's gradient.
  void prelu_forward(size_t i, const float* in, float* y, int64_t rows);
  void prelu_backward(size_t i, const float* in, float* d, int64_t rows, bool need_dx);
  // The layer_norm layer i: x-hat and each row's inv kept in pre_[i].
  void layer_norm_forward(size_t i, const float* in, float* y, int64_t rows);
  void layer_norm_backward(size_t i, float* d, int64_t rows, bool need_dx);
  // The unit_norm layer i (in: its input); backward writes dx in place of d.
  void unit_norm_forward(size_t i, const float* in, float* y, int64_t rows);
  void unit_norm_backward(size_t i, const float* in, float* d, int64_t rows);
  // Whether layer i has weights that train (its gradients are needed).
  bool trains(size_t i) const;
  // Adds the batch's loss and metric sums to *r (r->metric_sums sized to
  // metrics_ by the caller, so that nothing allocates per step).
  void accumulate_loss(const Batch& b, const float* out, float* dout, RunResult* r);
  void train_batch_locked(const Batch& batch, RunResult* acc,
                          const runtime::TaskRef* background = nullptr,
                          runtime::BackgroundTask* task      = nullptr);
  // The penalty of the regularized tensors; with add_grad, also adds its
  // gradient to grads_.
  double regularize(bool add_grad);

  int64_t input_dim_;
  std::vector<LayerSpec> layers_;
  std::vector<LayerState> state_;
  std::vector<int64_t> widths_;  // output width of each layer
  std::vector<TensorInfo> tensors_;
  int64_t num_params_  = 0;
  int64_t buffer_size_ = 0;
  int64_t max_width_   = 0;
  int first_trainable_ = 0;      // no input gradient is needed below this layer
  std::vector<uint8_t> frozen_;  // per layer: trainable=False (no gradients, no penalty)
  int64_t macs_per_row_ = 0;     // multiply-adds of the dense layers per sample
  // Threads of the team session for a batch of `rows` (1: none); passes = 1
  // for inference, 3 for a training step.
  int team_threads(int64_t rows, int passes) const;

  struct RegChunk {
    int64_t begin, end;  // float range in params_/grads_
    float l1, l2;
    int layer;
  };
  std::vector<RegChunk> reg_chunks_;  // regularized tensors, cut in fixed-size chunks
  std::vector<double> reg_partial_;   // one penalty partial sum per chunk

  runtime::AlignedBuffer<float> params_, grads_;
  runtime::AlignedBuffer<float> stats_;
  std::vector<StatInfo> stat_tensors_;
  int64_t stats_size_ = 0;

  ops::LossConfig loss_;
  double loss_weight_      = 1.0;  // Keras's loss_weights of the one output
  LossReduction reduction_ = LossReduction::sum_over_batch_size;
  std::vector<ops::MetricConfig> metrics_;
  bool fused_ = false;
  // metrics_ in runs computed by one call: a run of consecutive confusion
  // counts of one kind and weighting at nondecreasing thresholds (an AUC's
  // 200 thresholds) is one ops::confusion_sums_sorted pass; anything else is
  // a run of one (ops::metric_sum). Sized by set_loss: nothing allocates per
  // batch.
  struct MetricRun {
    size_t begin, end;
  };
  std::vector<MetricRun> metric_runs_;
  // Per metric: a cross-entropy metric of the fused loss's family (binary for a
  // sigmoid output, categorical for softmax), computed like the loss from the
  // logits (Keras's TensorFlow backend does the same for its metrics).
  std::vector<uint8_t> metric_on_logits_;
  std::vector<float> run_thresholds_;  // the thresholds of the longest run
  std::vector<double> run_buckets_, run_sums_;

  // Workspaces, sized for capacity_ rows.
  int64_t capacity_ = 0;
  // pre_: a dense layer's pre-activation, a batch_norm layer's x-hat, a
  // layer_norm layer's x-hat followed by its rows' inv
  std::vector<runtime::AlignedBuffer<float>> out_, pre_, mask_;
  // per batch_norm layer, 3 x features floats from its last forward: the
  // mean used, inv = 1/sqrt(var + eps) and a = inv * gamma (sized once)
  std::vector<runtime::AlignedBuffer<float>> bn_;
  std::vector<double> bn_acc_;         // 2 x widest batch_norm / layer_norm: per-column double sums
  std::vector<const float*> out_ptr_;  // output of each layer in the last forward
  // train_epoch's gathered batches: two of each, so that the next batch's
  // rows are copied while a step still reads the current one's
  runtime::AlignedBuffer<float> dbuf_[2], xg_[2], tg_[2], wg_[2];
  runtime::AlignedBuffer<int32_t> lg_[2];

  int64_t iterations_ = 0;
  // predict(training = true) calls so far, and the one running (0 inside
  // fit and train_on_batch): mixed into the random layers' keys.
  uint64_t eager_draws_ = 0;
  uint64_t draw_stream_ = 0;
  // The activity penalties of the last forward pass, summed over its rows
  // (each layer's l1 * sum|y| + l2 * sum y^2): a batch's loss_sum gains it.
  double activity_sum_ = 0.0;
  // Per layer, its activity penalty of the last forward pass / its rows
  // (sized once); activity_seen_: a forward pass has run.
  std::vector<double> activity_last_;
  bool activity_seen_ = false;
  // Layer i's activity penalty of its output y (rows x its width):
  // activity_l1 * sum|y| + activity_l2 * sum y^2, summed over the rows (the
  // batch's loss_sum gains it); add_activity_gradient adds its gradient,
  // divided by rows, to d (dL/dy).
  double activity_penalty(size_t i, const float* y, int64_t rows) const;
  // activity_penalty of layer i into activity_sum_ and activity_last_[i].
  void add_activity(size_t i, const float* y, int64_t rows);
  void add_activity_gradient(size_t i, float* d, int64_t rows) const;
  // The dense layers' constraints, applied after every optimizer step to the
  // layers that train (apply_constraints).
  struct ConstrainedTensor {
    int64_t offset, rows, cols;  // cols == 0: a bias (rows floats)
    Constraint constraint;
    int layer;
  };
  std::vector<ConstrainedTensor> constrained_;
  std::vector<double> constraint_sums_;    // the widest tensor's column sums
  std::vector<float> constraint_factors_;  // and its columns' factors
  void apply_constraints();
  // The first layer's weight gradient X^T dY skips the steps where a panel of
  // X's columns is all zero (gemm::sgemm_skip_zero_a: the same bits, faster on
  // data with many zeros such as images) while the last such call kept less
  // than kSkipZeroMaxKept of them; otherwise it is retried every
  // kSkipZeroRetry steps. Only the speed depends on this.
  double input_kept_       = 0.0;
  int64_t last_rows_       = 0;        // rows of the last forward pass (keep_outputs)
  const float* last_out_   = nullptr;  // and its output (x itself without layers)
  int64_t skip_zero_retry_ = 0;
  std::mutex mutex_;
};

}  // namespace fastnn::nn
