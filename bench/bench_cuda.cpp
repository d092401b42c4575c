// bench_cuda: the device jet MLP of the Allen-Cahn paper preset (6 x 128 tanh, 2 inputs, streams u, u_t, u_x,
// u_xx, 25,600 points): forward jets and forward + backward (parameter gradients) through the fused kernels and
// through the cuBLAS reference path, float32 (pedantic FP32, no TF32) and float64, beside the plain cuBLAS GEMM of
// one hidden layer (102,400 x 128 x 128) as the ceiling. FLOP counts are GEMM FLOPs only (2 m n k per GEMM:
// forward 2 R sum_l in_l out_l = 16.9 GFLOP, backward twice that); the jet rules are not counted.
// Timing: each iteration launches, then waits for the stream (manual time, wall clock); the first iteration
// is a warm-up. Checks before timing: the device forward output (and, for forward + backward, every parameter
// gradient) agrees with the CPU tape on the same weights and points, normwise relative error <= 1e-5 in float32
// and 1e-12 in float64; the hidden-layer GEMM is checked on random inputs against Eigen. A failed check skips the
// benchmark with the error. Built with the CUDA backend; with no device it prints why and exits 0.
// Batch statistics (B = 100 batches): forward + backward with G, S1, S2 of every parameter, separate (fused
// backward, then per-layer cuBLAS partials and combining kernels) vs fused into the backward kernel; checked
// first: both variants' G against the gradient the CPU tape check passed, and their S1, S2 against each other
// (two independent implementations) at the same tolerances. FLOP/s counts the forward + backward GEMM FLOPs only.
// NOT yet run on a device.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "affine.h"
#include "batch_stats_rule.h"
#include "cuda_device.h"
#include "device_mlp.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {

constexpr Index POINTS = 25600;
constexpr int DEPTH = 6, WIDTH = 128;

Context& context() {
  static Context c(0);
  return c;
}

template <class T>
struct Setup {
  StreamSetPtr streams = StreamSet::make({"t", "x"}, {"t", "xx"});
  Mlp<T> mlp{MlpConfig{2, 1, DEPTH, WIDTH, Activation::Tanh, false, {}}, 7};
  DeviceMlp<T> dm{context(), mlp, streams};
  DeviceTensor<T> x{context()}, dy{context()};
  RowMat<T> pts, g;
  double forward_flop = 0;
  Setup() {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    pts.resize(POINTS, 2);
    for (Index i = 0; i < pts.size(); ++i) pts.data()[i] = static_cast<T>(u(rng));
    x.upload(DeviceMlp<T>::input_jet(ConstMatView<T>(pts.data(), pts.rows(), pts.cols()), *streams));
    g.resize(streams->size() * POINTS, 1);
    for (Index i = 0; i < g.size(); ++i) g.data()[i] = static_cast<T>(u(rng));
    dy.upload(g);
    const double R = static_cast<double>(streams->size() * POINTS);
    forward_flop = 2 * R * (2.0 * WIDTH + (DEPTH - 1.0) * WIDTH * WIDTH + WIDTH * 1.0);
  }
};

template <class T>
Setup<T>& setup() {
  static Setup<T> s;
  return s;
}

template <class A, class B>
double rel_err(const A& got, const B& want) {
  const double den = want.template cast<double>().norm();
  return (got.template cast<double>() - want.template cast<double>()).norm() / (den > 0 ? den : 1.0);
}

// The CPU tape on the same weights and points: the output jet, and the gradient of sum(y * dy).
template <class T>
bool check_against_cpu(benchmark::State& state, Setup<T>& s, MlpPath path, bool backward) {
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  Tape<T> tape(&s.mlp.params());
  Var<T> y = s.mlp.forward(tape, tape.input(s.pts, s.streams));
  s.dm.forward(s.x, path);
  RowMat<T> got;
  got.resize(y.value().rows(), y.value().cols());
  s.dm.output().download(got);
  const double ey = rel_err(got, y.value().mat());
  double eg = 0;
  if (backward) {
    s.mlp.params().zero_grad();
    tape.backward(sum(y * tape.constant(RowMat<T>(s.g))));
    const std::vector<T> want(s.mlp.params().grads(), s.mlp.params().grads() + s.mlp.params().size());
    s.dm.zero_grad();
    s.dm.backward(s.dy, path);
    ParamStore<T> store = s.mlp.params();
    s.dm.download_grads(store);
    using V = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
    eg = rel_err(V(store.grads(), store.size()), V(want.data(), static_cast<Index>(want.size())));
  }
  state.counters["check_rel_err"] = std::max(ey, eg);
  if (!(ey <= tol && eg <= tol)) {
    state.SkipWithError(("device result differs from the CPU tape: output " + std::to_string(ey) + ", gradients " +
                         std::to_string(eg)).c_str());
    return false;
  }
  return true;
}

template <class F>
void timed(benchmark::State& state, F&& f) {
  f();
  context().synchronize();  // warm-up: buffers sized, kernels loaded
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    context().synchronize();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

template <class T, MlpPath PATH>
void BM_mlp_forward(benchmark::State& state) {
  Setup<T>& s = setup<T>();
  if (!check_against_cpu(state, s, PATH, false)) return;
  timed(state, [&] { s.dm.forward(s.x, PATH); });
  state.counters["FLOP/s"] = benchmark::Counter(s.forward_flop, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T, MlpPath PATH>
void BM_mlp_forward_backward(benchmark::State& state) {
  Setup<T>& s = setup<T>();
  if (!check_against_cpu(state, s, PATH, true)) return;
  timed(state, [&] {
    s.dm.forward(s.x, PATH);
    s.dm.zero_grad();
    s.dm.backward(s.dy, PATH);
  });
  state.counters["FLOP/s"] = benchmark::Counter(3 * s.forward_flop, benchmark::Counter::kIsIterationInvariantRate);
}

constexpr int STATS_BATCHES = 100;

// Both statistics paths on the same forward; G against the plain backward's gradient (checked against the CPU
// tape first), S1 and S2 of the two paths against each other.
template <class T>
bool check_stats(benchmark::State& state, Setup<T>& s) {
  if (!check_against_cpu(state, s, MlpPath::Fused, true)) return false;
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  const auto off = even_batches(POINTS, STATS_BATCHES);
  s.dm.forward(s.x, MlpPath::Fused);
  s.dm.zero_grad();
  s.dm.backward(s.dy, MlpPath::Fused);
  const std::vector<T> g = s.dm.grads().to_host();
  std::vector<T> G[2], S1[2];
  std::vector<double> S2[2];
  for (int i = 0; i < 2; ++i) {
    s.dm.backward_stats(s.dy, off, i == 0 ? StatsPath::Separate : StatsPath::Fused);
    G[i] = s.dm.stats_g().to_host();
    S1[i] = s.dm.stats_s1().to_host();
    S2[i] = s.dm.stats_s2().to_host();
  }
  using V = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
  using VD = Eigen::Map<const Eigen::VectorXd>;
  auto v = [](const std::vector<T>& a) { return V(a.data(), static_cast<Index>(a.size())); };
  const double e = std::max({rel_err(v(G[0]), v(g)), rel_err(v(G[1]), v(g)), rel_err(v(S1[1]), v(S1[0])),
                             rel_err(VD(S2[1].data(), static_cast<Index>(S2[1].size())),
                                     VD(S2[0].data(), static_cast<Index>(S2[0].size())))});
  state.counters["check_stats_rel_err"] = e;
  if (!(e <= tol)) {
    state.SkipWithError(("batch statistics disagree (separate vs fused vs the checked gradient): " + std::to_string(e)).c_str());
    return false;
  }
  return true;
}

template <class T, StatsPath STATS>
void BM_mlp_backward_stats(benchmark::State& state) {
  Setup<T>& s = setup<T>();
  if (!check_stats(state, s)) return;
  const auto off = even_batches(POINTS, STATS_BATCHES);
  timed(state, [&] {
    s.dm.forward(s.x, MlpPath::Fused);
    s.dm.zero_grad();
    s.dm.backward_stats(s.dy, off, STATS);
  });
  state.counters["FLOP/s"] = benchmark::Counter(3 * s.forward_flop, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_cublas_hidden_gemm(benchmark::State& state) {
  const Index R = 4 * POINTS;
  DeviceTensor<T> a(context(), R, WIDTH), W(context(), WIDTH, WIDTH), y(context(), R, WIDTH);
  const RowMat<T> ha = RowMat<T>::Random(R, WIDTH), hw = RowMat<T>::Random(WIDTH, WIDTH);
  a.upload(ha);
  W.upload(hw);
  affine_forward<T>(context(), R, POINTS, WIDTH, WIDTH, a.data(), W.data(), nullptr, y.data());
  RowMat<T> hy(R, WIDTH);
  y.download(hy);
  const RowMat<T> want = ha * hw.transpose();
  const double e = rel_err(hy, want);
  state.counters["check_rel_err"] = e;
  if (!(e <= (sizeof(T) == 4 ? 1e-5 : 1e-12))) {
    state.SkipWithError(("cuBLAS GEMM differs from Eigen: " + std::to_string(e)).c_str());
    return;
  }
  timed(state, [&] { affine_forward<T>(context(), R, POINTS, WIDTH, WIDTH, a.data(), W.data(), nullptr, y.data()); });
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * R * WIDTH * WIDTH, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_mlp_forward<float, MlpPath::Fused>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward<float, MlpPath::Cublas>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward_backward<float, MlpPath::Fused>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward_backward<float, MlpPath::Cublas>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_backward_stats<float, StatsPath::Separate>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_backward_stats<float, StatsPath::Fused>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cublas_hidden_gemm<float>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward<double, MlpPath::Fused>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward<double, MlpPath::Cublas>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward_backward<double, MlpPath::Fused>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward_backward<double, MlpPath::Cublas>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_backward_stats<double, StatsPath::Separate>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_backward_stats<double, StatsPath::Fused>)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cublas_hidden_gemm<double>)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  std::string why;
  if (device_count(&why) == 0) {
    std::printf("bench_cuda: no CUDA device (%s); nothing to time\n", why.c_str());
    return 0;
  }
  std::printf("CUDA device 0: %s\n", device_name(0).c_str());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
