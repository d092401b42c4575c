// Whole-step CPU benchmarks through the problem registry, each checked before it is timed:
//   BM_PresetStep     one training step (jets forward on every loss term, residuals, loss, reverse sweep, Adam)
//                     of a problem preset, built as `jetpinn train` builds it (bench/preset_step.h): allen-cahn
//                     paper, helmholtz paper, burgers paper, cavity re100; the collocation count is the sweep
//                     parameter. Check: the loss at the initial weights is finite and a second evaluation at the
//                     same weights gives the same loss bit for bit.
//   BM_StepDepth      the allen-cahn paper step with net.depth = 2..8 (width 128).
//   BM_LbfgsIteration one L-BFGS iteration (strong-Wolfe line search; its evaluations counted) on the
//                     allen-cahn paper network; check: the first iteration lowers the loss.
// GFLOP/s counts the affine-product flops of one loss evaluation (PresetStep::gemm_flops(), times the line
// search's evaluations for L-BFGS); the elementwise jet work is not counted.
// Default run: N = 4,096 (and the 25,600 of the paper presets for allen-cahn). `--sweep` adds N = 1k..64k for
// every preset, both precisions, and the depth sweep; combine with --benchmark_filter.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sweep_main.h"
#include "preset_step.h"

using namespace jetpinn;

namespace {

struct Preset {
  const char* problem;
  const char* preset;
};
const Preset PRESETS[] = {{"allen-cahn", "paper"}, {"helmholtz", "paper"}, {"burgers", "paper"}, {"cavity", "re100"}};

template <class T>
bool check_step(benchmark::State& state, bench::PresetStep<T>& s) {
  const double l0 = s.trainer->loss_and_gradient(), l1 = s.trainer->loss_and_gradient();
  if (!std::isfinite(l0) || l0 != l1) {
    state.SkipWithError(("loss not finite or not reproducible: " + std::to_string(l0) + " vs " + std::to_string(l1)).c_str());
    return false;
  }
  state.counters["loss0"] = l0;
  return true;
}

template <class T>
void BM_PresetStep(benchmark::State& state) {
  const Preset& p = PRESETS[state.range(0)];
  bench::PresetStep<T> s(p.problem, p.preset, {"points.collocation=" + std::to_string(state.range(1))});
  if (!check_step(state, s)) return;
  for (auto _ : state) {
    const StepStats st = s.trainer->step();
    if (!st.bad.empty()) {
      state.SkipWithError(st.bad.c_str());
      break;
    }
  }
  state.SetLabel(std::string(p.problem) + " " + p.preset);
  state.counters["GFLOP/s"] = benchmark::Counter(s.gemm_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["jet_rows"] = s.jet_rows();
}

template <class T>
void BM_StepDepth(benchmark::State& state) {
  bench::PresetStep<T> s("allen-cahn", "paper",
                         {"points.collocation=" + std::to_string(state.range(1)), "net.depth=" + std::to_string(state.range(0))});
  if (!check_step(state, s)) return;
  for (auto _ : state) s.trainer->step();
  state.counters["GFLOP/s"] = benchmark::Counter(s.gemm_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_LbfgsIteration(benchmark::State& state) {
  bench::PresetStep<T> s("allen-cahn", "paper", {"points.collocation=" + std::to_string(state.range(0)), "optim.lbfgs_from=0"});
  if (!check_step(state, s)) return;
  const double before = s.trainer->loss_and_gradient();
  const StepStats first = s.trainer->step();
  const double after = s.trainer->loss_and_gradient();
  if (!first.bad.empty() || !first.lbfgs || !(after < before)) {
    state.SkipWithError(("the first L-BFGS iteration did not lower the loss: " + std::to_string(before) + " -> " +
                         std::to_string(after)).c_str());
    return;
  }
  double evals = 0;
  for (auto _ : state) evals += s.trainer->step().evals;
  state.counters["evals/iter"] = evals / double(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(s.gemm_flops() * evals * 1e-9, benchmark::Counter::kIsRate);
}


void register_all(bool sweep) {
  using benchmark::RegisterBenchmark;
  auto per_precision = [&](auto tag, const std::string& t) {
    using T = decltype(tag);
    const bool f32 = sizeof(T) == 4;
    auto* b = RegisterBenchmark(("BM_PresetStep<" + t + ">").c_str(), BM_PresetStep<T>)
                  ->ArgNames({"preset", "points"})->UseRealTime()->Unit(benchmark::kMillisecond);
    if (sweep) {
      b->ArgsProduct({{0, 1, 2, 3}, {1024, 4096, 16384, 25600, 65536}});
      RegisterBenchmark(("BM_StepDepth<" + t + ">").c_str(), BM_StepDepth<T>)->ArgsProduct({{2, 4, 6, 8}, {4096}})
          ->ArgNames({"depth", "points"})->UseRealTime()->Unit(benchmark::kMillisecond);
    } else {
      b->ArgsProduct({{0, 1, 2, 3}, {4096}});
      if (f32) b->Args({0, 25600});
    }
    if (!f32 || sweep)
      RegisterBenchmark(("BM_LbfgsIteration<" + t + ">").c_str(), BM_LbfgsIteration<T>)->Arg(4096)
          ->ArgNames({"points"})->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  per_precision(float{}, "float");
  per_precision(double{}, "double");
}

}  // namespace

int main(int argc, char** argv) { return jetpinn::bench::sweep_main(argc, argv, register_all); }
