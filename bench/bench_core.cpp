// Core CPU benchmarks: one Allen-Cahn step (6 x 128 tanh, 4 jet streams) and, in the same binary, the plain
// GEMM throughput of the product library for the step's dominant shape: (streams * N) x 128 times 128 x 128.
// GFLOP/s counts 2 flops per multiply-add of the affine products only (elementwise jet work is not counted).
// Run: build/bench/bench_core --benchmark_counters_tabular=true; bench/step_vs_gemm.py prints the ratios.
#include <benchmark/benchmark.h>

#include "allen_cahn_step.h"
#include "gemm_eigen_native.h"

using namespace jetpinn;

namespace {

template <class T>
void BM_AllenCahnStep(benchmark::State& state) {
  bench::AllenCahnStep<T> step(6, 128, state.range(0));
  const T loss = step.run();  // verify before timing: a finite loss and gradients
  if (!std::isfinite(static_cast<double>(loss))) state.SkipWithError("non-finite loss");
  for (auto _ : state) benchmark::DoNotOptimize(step.run());
  state.counters["GFLOP/s"] = benchmark::Counter(step.gemm_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["points"] = static_cast<double>(state.range(0));
}

// Plain GEMM through Eigen's product (dispatched to the configured BLAS when one is linked).
template <class T>
void BM_Gemm(benchmark::State& state) {
  const Index m = state.range(0), k = state.range(1), n = state.range(2);
  RowMat<T> a = RowMat<T>::Random(m, k), b = RowMat<T>::Random(n, k), c(m, n);
  c.noalias() = a * b.transpose();
  const double err = (c.row(m / 2) - a.row(m / 2) * b.transpose()).norm();  // a row re-done by GEMV
  if (!(err <= 1e-3 * c.row(m / 2).norm() + 1e-6)) state.SkipWithError("GEMM check failed");
  for (auto _ : state) {
    c.noalias() = a * b.transpose();
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(k) * double(n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
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
BENCHMARK(BM_Gemm<float>)->Args({4 * 4096, 128, 128})->Args({4 * 25600, 128, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Gemm<double>)->Args({4 * 4096, 128, 128})->Args({4 * 25600, 128, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemmEigenNative<float>)->Args({4 * 4096, 128, 128})->Args({4 * 25600, 128, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemmEigenNative<double>)->Args({4 * 4096, 128, 128})->Args({4 * 25600, 128, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
