// Network engine: one training step (forward + loss + backward, no update) of
// 784-128(relu)-128(relu)-10(softmax) with sparse categorical cross-entropy,
// and inference latency. Reports FLOP/s of the step's GEMMs.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "nn/initializers.h"
#include "nn/network.h"
#include "ops/losses.h"
#include "runtime/dispatch.h"
#include "runtime/threads.h"

namespace {

using fastnn::nn::LayerSpec;
using fastnn::nn::LayerType;
using fastnn::nn::Network;
using fastnn::ops::ActivationKind;

constexpr int64_t kWidths[] = {784, 128, 128, 10};

std::vector<LayerSpec> mlp_layers() {
  std::vector<LayerSpec> layers;
  for (int i = 1; i < 4; ++i) {
    LayerSpec s;
    s.type  = LayerType::dense;
    s.units = kWidths[i];
    s.act   = i < 3 ? ActivationKind::relu : ActivationKind::softmax;
    layers.push_back(s);
  }
  return layers;
}

void init_network(Network& net) {
  uint64_t seed = 1;
  for (const auto& t : net.tensors())
    fastnn::nn::initialize(fastnn::nn::InitKind::glorot_uniform, net.params() + t.offset, t.size(),
                           t.rows, t.cols ? t.cols : t.rows, seed++);
  fastnn::ops::LossConfig loss;
  loss.kind = fastnn::ops::LossKind::sparse_categorical_crossentropy;
  net.set_loss(loss);
}

double step_flops(int64_t batch) {
  double total = 0.0;
  for (int i = 0; i < 3; ++i) total += 2.0 * batch * kWidths[i] * kWidths[i + 1] * (i > 0 ? 3 : 2);
  return total;
}

// Args: batch, threads.
void BM_train_batch_784_128_128_10(benchmark::State& state) {
  const int64_t batch = state.range(0);
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(1)));
  Network net(kWidths[0], mlp_layers());
  init_network(net);
  std::vector<float> x(batch * kWidths[0]);
  std::vector<int32_t> labels(batch);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  for (int64_t i = 0; i < batch; ++i) labels[i] = static_cast<int32_t>(i % 10);
  fastnn::nn::Batch b;
  b.x         = x.data();
  b.labels    = labels.data();
  b.rows      = batch;
  double loss = 0.0;
  for (auto _ : state) {
    loss = net.train_batch(b).loss_sum;
    benchmark::DoNotOptimize(net.grads());
  }
  // Sanity: a finite loss near log(10) for an untrained net.
  if (!(std::isfinite(loss) && loss / batch > 0.5 && loss / batch < 10.0))
    state.SkipWithError("train_batch gave an implausible loss");
  state.counters["FLOP/s"] =
      benchmark::Counter(step_flops(batch) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(fastnn::runtime::isa_name(fastnn::runtime::active_isa()));
}
BENCHMARK(BM_train_batch_784_128_128_10)
    ->ArgsProduct({{32, 128, 1024}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Args: threads.
void BM_predict_batch1_784_128_128_10(benchmark::State& state) {
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(0)));
  Network net(kWidths[0], mlp_layers());
  init_network(net);
  std::vector<float> x(kWidths[0]), out(10);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * static_cast<float>(i));
  for (auto _ : state) {
    net.predict(x.data(), 1, out.data(), 1);
    benchmark::DoNotOptimize(out.data());
  }
  float sum = 0.0f;
  for (float v : out) sum += v;
  if (std::fabs(sum - 1.0f) > 1e-4f) state.SkipWithError("predict: softmax does not sum to 1");
  state.SetLabel(fastnn::runtime::isa_name(fastnn::runtime::active_isa()));
}
BENCHMARK(BM_predict_batch1_784_128_128_10)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
