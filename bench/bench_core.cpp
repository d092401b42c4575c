// Core CPU benchmarks: one Allen-Cahn step (6 x 128 tanh, 4 jet streams) and, in the same binary, the plain
// GEMM throughput of the product library for the step's dominant shape: (streams * N) x 128 times 128 x 128.
// GFLOP/s counts 2 flops per multiply-add of the affine products only (elementwise jet work is not counted).
// Run: build/bench/bench_core --benchmark_counters_tabular=true; bench/step_vs_gemm.py prints the ratios.
#include <benchmark/benchmark.h>

#include <cmath>

#include "allen_cahn_step.h"
#include "gemm_eigen_native.h"
#include "layer_gemm.h"

using namespace jetpinn;

namespace {

// Before timing: the step's loss against the same step in float64 (same weights, points and data).
template <class T>
bool check_against_f64(benchmark::State& state, bench::AllenCahnStep<T>& step, T loss) {
  bench::AllenCahnStep<double> ref(6, 128, step.points.rows());
  ref.net.copy_params_from(step.net);
  ref.points = step.points.template cast<double>();
  ref.ic_points = step.ic_points.template cast<double>();
  ref.ic_values = step.ic_values.template cast<double>();
  const double want = ref.run(), rel = std::abs(static_cast<double>(loss) - want) / std::abs(want);
  state.counters["check_rel_err"] = rel;
  if (std::isfinite(rel) && rel <= (sizeof(T) == 4 ? 1e-4 : 1e-12)) return true;
  state.SkipWithError("the step's loss differs from the float64 step");
  return false;
}

template <class T>
void BM_AllenCahnStep(benchmark::State& state) {
  bench::AllenCahnStep<T> step(6, 128, state.range(0));
  if (!check_against_f64(state, step, step.run())) return;
  for (auto _ : state) benchmark::DoNotOptimize(step.run());
  state.counters["GFLOP/s"] = benchmark::Counter(step.gemm_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["points"] = static_cast<double>(state.range(0));
}

// Plain GEMM through Eigen's product (dispatched to the configured BLAS when one is linked), in the three
// shapes a layer's step runs with rows = streams x points: forward Y = X W^T, weight gradient dW = dY^T X,
// input gradient dX = dY W. Arg 3 picks the shape (0, 1, 2).
template <class T>
void BM_Gemm(benchmark::State& state) {
  bench::LayerGemm<T> g(state.range(0), state.range(1), state.range(2), static_cast<int>(state.range(3)));
  g.run();
  if (!(g.check_rel_err() <= g.tolerance())) state.SkipWithError("GEMM check failed");
  for (auto _ : state) {
    g.run();
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(g.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_GemmEigenNative(benchmark::State& state) {
  const Index m = state.range(0), k = state.range(1), n = state.range(2);
  bench::EigenNativeGemm<T> g(m, k, n);
  if (!g.check()) state.SkipWithError("GEMM check failed");
  for (auto _ : state) g.run();
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// Step sizes N = 4,096 and 25,600 (the paper's collocation set); GEMM rows = 4 streams x N.
BENCHMARK(BM_AllenCahnStep<float>)->Arg(4096)->Arg(25600)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AllenCahnStep<double>)->Arg(4096)->Arg(25600)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Gemm<float>)->ArgsProduct({{4 * 4096, 4 * 25600}, {128}, {128}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Gemm<double>)->ArgsProduct({{4 * 4096, 4 * 25600}, {128}, {128}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemmEigenNative<float>)->Args({4 * 4096, 128, 128})->Args({4 * 25600, 128, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemmEigenNative<double>)->Args({4 * 4096, 128, 128})->Args({4 * 25600, 128, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
