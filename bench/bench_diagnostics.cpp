// The cost of the training-dynamics diagnostics, measured side by side in one run: for a problem preset, a plain
// training step and a step that also measures (batch-gradient SNR with B = 100, or the per-sample variant, plus
// the Adam SNR, homogeneity and the phase detector) alternate in the same loop (A B A B ...), so machine drift
// hits both; the counters give the median milliseconds of each and their ratio. BM_Compression times the
// activation statistics on a 4,096-point probe and reports their share of 100 plain steps (the cadence asked).
// Besides wall time, each step's process CPU time is taken (CLOCK_PROCESS_CPUTIME_ID): on a shared machine the
// CPU-time ratio is the steadier of the two. Checks before timing: both trainers start from the same loss (the measured step's gradient is the same sum,
// split over batches), and the SNR is finite and positive.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <string>
#include <vector>

#include "compression.h"
#include "preset_step.h"

using namespace jetpinn;

namespace {

struct Case {
  const char* problem;
  const char* preset;
};
const Case CASES[] = {{"allen-cahn", "paper"}, {"helmholtz", "paper"}};

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <class T>
void BM_DiagnosticsOverhead(benchmark::State& state) {
  const Case& c = CASES[state.range(0)];
  const std::string n = "points.collocation=" + std::to_string(state.range(1));
  const bool per_sample = state.range(2) != 0;
  bench::PresetStep<T> plain(c.problem, c.preset, {n});
  bench::PresetStep<T> diag(c.problem, c.preset,
                            {n, "diagnostics.enabled=true", "diagnostics.every=1",
                             std::string("diagnostics.per_sample=") + (per_sample ? "true" : "false")});
  const double l0 = plain.trainer->loss_and_gradient(), l1 = diag.trainer->loss_and_gradient();
  if (!(std::abs(l0 - l1) <= 1e-12 * std::abs(l0))) {
    state.SkipWithError("the two trainers do not start from the same loss");
    return;
  }
  {
    const StepStats s = diag.trainer->step();
    if (!s.diag || !(s.diag->grad.snr > 0) || !std::isfinite(s.diag->grad.snr)) {
      state.SkipWithError("the measured step gave no finite SNR");
      return;
    }
    plain.trainer->step();
  }
  std::vector<double> ta, tb, ca, cb;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const double c0 = cpu_ms();
    const auto t0 = clock::now();
    plain.trainer->step();
    const double c1 = cpu_ms();
    const auto t1 = clock::now();
    diag.trainer->step();
    const auto t2 = clock::now();
    const double c2 = cpu_ms();
    ta.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    tb.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    ca.push_back(c1 - c0);
    cb.push_back(c2 - c1);
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
  }
  const double a = median(ta), b = median(tb);
  state.counters["plain_ms"] = a;
  state.counters["measured_ms"] = b;
  state.counters["ratio"] = b / a;
  state.counters["cpu_ratio"] = median(cb) / median(ca);
  state.SetLabel(std::string(c.problem) + " " + c.preset + (per_sample ? " per-sample" : " B=100"));
}

template <class T>
void BM_Compression(benchmark::State& state) {
  const Case& c = CASES[state.range(0)];
  bench::PresetStep<T> s(c.problem, c.preset, {"points.collocation=" + std::to_string(state.range(1))});
  const RowMat<T> probe = s.trainer->terms()[0].points.topRows(std::min<Index>(4096, s.trainer->terms()[0].points.rows()));
  const auto first = activation_compression(*s.net, probe);
  if (first.size() != static_cast<std::size_t>(s.net->config().depth) || !(first[0].entropy > 0)) {
    state.SkipWithError("activation statistics gave no entropy");
    return;
  }
  std::vector<double> ta, tc, ca, cc;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const double c0 = cpu_ms();
    const auto t0 = clock::now();
    s.trainer->step();
    const double c1 = cpu_ms();
    const auto t1 = clock::now();
    benchmark::DoNotOptimize(activation_compression(*s.net, probe));
    const auto t2 = clock::now();
    ca.push_back(c1 - c0);
    cc.push_back(cpu_ms() - c1);
    ta.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    tc.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
  }
  const double a = median(ta), b = median(tc);
  state.counters["plain_ms"] = a;
  state.counters["compression_ms"] = b;
  state.counters["share_every_100"] = b / (100 * a);
  state.counters["cpu_share_every_100"] = median(cc) / (100 * median(ca));
  state.SetLabel(std::string(c.problem) + " " + c.preset + " probe 4096");
}

}  // namespace

BENCHMARK(BM_DiagnosticsOverhead<float>)
    ->ArgNames({"case", "points", "per_sample"})
    ->ArgsProduct({{0, 1}, {4096, 25600}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiagnosticsOverhead<double>)
    ->ArgNames({"case", "points", "per_sample"})
    ->ArgsProduct({{0}, {4096}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Compression<float>)->ArgNames({"case", "points"})->Args({0, 25600})->UseManualTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
