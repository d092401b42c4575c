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
// Options (besides Google Benchmark's): --check-only runs every check above, one line each ("check NAME: ok
// (relative error E, tolerance T)" or "check NAME: FAILED (...)"), times nothing and exits 1 if any failed (or
// there is no device); --points N replaces the 25,600 points (the GEMM keeps R = 4 N rows; N >= 100, the
// statistics' batches). On the emulated device (-DJETPINN_CUDA=EMULATE) it always runs --check-only, on 256
// points unless --points says.
// Status on a GPU: kernels/README.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <string>

#include "affine.h"
#include "batch_stats_rule.h"
#include "cuda_device.h"
#include "device_mlp.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {

#if defined(JETPINN_CUDA_EMULATED)
constexpr Index DEFAULT_POINTS = 256;  // every emulated kernel thread is a CPU fiber: the paper's size takes hours
#else
constexpr Index DEFAULT_POINTS = 25600;  // the paper's collocation points
#endif
Index g_points = DEFAULT_POINTS;  // --points; set in main before any Setup or tensor is built
constexpr int DEPTH = 6, WIDTH = 128;

Context& context() {
  static Context c(0);
  return c;
}

template <class T>
struct Setup {
  StreamSetPtr streams = StreamSet::make({"t", "x"}, {"t", "xx"});
  Mlp<T> mlp{MlpConfig{2, 1, DEPTH, WIDTH, Activation::Tanh, false, {}, {}}, 7};
  DeviceMlp<T> dm{context(), mlp, streams};
  DeviceTensor<T> x{context()}, dy{context()};
  RowMat<T> pts, g;
  double forward_flop = 0;
  Setup() {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    pts.resize(g_points, 2);
    for (Index i = 0; i < pts.size(); ++i) pts.data()[i] = static_cast<T>(u(rng));
    x.upload(DeviceMlp<T>::input_jet(ConstMatView<T>(pts.data(), pts.rows(), pts.cols()), *streams));
    g.resize(streams->size() * g_points, 1);
    for (Index i = 0; i < g.size(); ++i) g.data()[i] = static_cast<T>(u(rng));
    dy.upload(g);
    const double R = static_cast<double>(streams->size() * g_points);
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

template <class T>
constexpr double tolerance() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

// One check's outcome, for the benchmarks (counter, SkipWithError) and for --check-only (one printed line).
struct CheckResult {
  double error = NAN, tolerance = NAN;  // normwise relative error and its bound
  std::string failure;                  // why it failed (the benchmark's skip message); empty: passed
  bool ok() const { return failure.empty(); }
};

// The benchmarks' side of a check: its error as `counter`, and a failure skips the benchmark.
bool passed(benchmark::State& state, const CheckResult& r, const char* counter) {
  state.counters[counter] = r.error;
  if (r.ok()) return true;
  state.SkipWithError(r.failure.c_str());
  return false;
}

// sum over every stream k and point of y_k * dy_k (dy stream-major, as the device's backward seed): one term per
// stream, since the tape multiplies only operands of one stream set (and y * dy would be a jet product).
template <class T>
Var<T> seeded_sum(Tape<T>& tape, Var<T> y, const RowMat<T>& dy) {
  const int S = y.streams().size();
  const Index P = dy.rows() / S;
  Var<T> total;
  for (int k = 0; k < S; ++k) {
    const Var<T> term = sum(tape.component(y, k) * tape.constant(RowMat<T>(dy.middleRows(k * P, P))));
    total = k == 0 ? term : total + term;
  }
  return total;
}

// The CPU tape on the same weights and points: the output jet, and the gradient of sum(y * dy).
template <class T>
CheckResult check_against_cpu(Setup<T>& s, MlpPath path, bool backward) {
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
    tape.backward(seeded_sum(tape, y, s.g));
    const std::vector<T> want(s.mlp.params().grads(), s.mlp.params().grads() + s.mlp.params().size());
    s.dm.zero_grad();
    s.dm.backward(s.dy, path);
    ParamStore<T> store = s.mlp.params();
    s.dm.download_grads(store);
    using V = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
    eg = rel_err(V(store.grads(), store.size()), V(want.data(), static_cast<Index>(want.size())));
  }
  CheckResult r{std::max(ey, eg), tolerance<T>(), {}};
  if (!(ey <= r.tolerance && eg <= r.tolerance))
    r.failure = "device result differs from the CPU tape: output " + std::to_string(ey) + ", gradients " + std::to_string(eg);
  return r;
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
  if (!passed(state, check_against_cpu(s, PATH, false), "check_rel_err")) return;
  timed(state, [&] { s.dm.forward(s.x, PATH); });
  state.counters["FLOP/s"] = benchmark::Counter(s.forward_flop, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T, MlpPath PATH>
void BM_mlp_forward_backward(benchmark::State& state) {
  Setup<T>& s = setup<T>();
  if (!passed(state, check_against_cpu(s, PATH, true), "check_rel_err")) return;
  timed(state, [&] {
    s.dm.forward(s.x, PATH);
    s.dm.zero_grad();
    s.dm.backward(s.dy, PATH);
  });
  state.counters["FLOP/s"] = benchmark::Counter(3 * s.forward_flop, benchmark::Counter::kIsIterationInvariantRate);
}

constexpr int STATS_BATCHES = 100;

// Both statistics paths on the same forward; G against the plain fused backward's gradient (the benchmark and
// --check-only check that one against the CPU tape first), S1 and S2 of the two paths against each other.
template <class T>
CheckResult check_stats(Setup<T>& s) {
  const auto off = even_batches(g_points, STATS_BATCHES);
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
  CheckResult r{e, tolerance<T>(), {}};
  if (!(e <= r.tolerance)) r.failure = "batch statistics disagree (separate vs fused vs the checked gradient): " + std::to_string(e);
  return r;
}

template <class T, StatsPath STATS>
void BM_mlp_backward_stats(benchmark::State& state) {
  Setup<T>& s = setup<T>();
  if (!passed(state, check_against_cpu(s, MlpPath::Fused, true), "check_rel_err")) return;
  if (!passed(state, check_stats(s), "check_stats_rel_err")) return;
  const auto off = even_batches(g_points, STATS_BATCHES);
  timed(state, [&] {
    s.dm.forward(s.x, MlpPath::Fused);
    s.dm.zero_grad();
    s.dm.backward_stats(s.dy, off, STATS);
  });
  state.counters["FLOP/s"] = benchmark::Counter(3 * s.forward_flop, benchmark::Counter::kIsIterationInvariantRate);
}

// One hidden layer's cuBLAS GEMM (R = 4 x points jet rows, WIDTH x WIDTH weights) on random inputs.
template <class T>
struct HiddenGemm {
  const Index R = 4 * g_points;
  DeviceTensor<T> a{context(), R, WIDTH}, W{context(), WIDTH, WIDTH}, y{context(), R, WIDTH};
  const RowMat<T> ha = RowMat<T>::Random(R, WIDTH), hw = RowMat<T>::Random(WIDTH, WIDTH);
  HiddenGemm() {
    a.upload(ha);
    W.upload(hw);
  }
  void run() { affine_forward<T>(context(), R, g_points, WIDTH, WIDTH, a.data(), W.data(), nullptr, y.data()); }
  // Against Eigen's product of the same inputs.
  CheckResult check() {
    run();
    RowMat<T> hy(R, WIDTH);
    y.download(hy);
    const RowMat<T> want = ha * hw.transpose();
    CheckResult r{rel_err(hy, want), tolerance<T>(), {}};
    if (!(r.error <= r.tolerance)) r.failure = "cuBLAS GEMM differs from Eigen: " + std::to_string(r.error);
    return r;
  }
};

template <class T>
void BM_cublas_hidden_gemm(benchmark::State& state) {
  HiddenGemm<T> gemm;
  if (!passed(state, gemm.check(), "check_rel_err")) return;
  timed(state, [&] { gemm.run(); });
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * gemm.R * WIDTH * WIDTH, benchmark::Counter::kIsIterationInvariantRate);
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

// ---- --check-only --------------------------------------------------------------------------------------------

struct Tally {
  int run = 0, failed = 0;
};

// Runs one check and prints its line; a throw (CUDA error, emulator finding) is a failure too.
template <class F>
void run_check(Tally& tally, const std::string& name, F&& check) {
  CheckResult r;
  try {
    r = check();
  } catch (const std::exception& e) {
    r.failure = std::string("threw: ") + e.what();
  }
  if (r.ok())
    std::printf("check %s: ok (relative error %.3g, tolerance %.0e)\n", name.c_str(), r.error, r.tolerance);
  else if (std::isnan(r.error))
    std::printf("check %s: FAILED (%s)\n", name.c_str(), r.failure.c_str());
  else
    std::printf("check %s: FAILED (relative error %.3g, tolerance %.0e: %s)\n", name.c_str(), r.error, r.tolerance,
                r.failure.c_str());
  std::fflush(stdout);  // in order with the emulator's findings on stderr
  ++tally.run;
  tally.failed += r.ok() ? 0 : 1;
}

// The benchmarks' checks of one precision, in their order.
template <class T>
void run_checks(Tally& tally, const std::string& p) {
  for (const MlpPath path : {MlpPath::Fused, MlpPath::Cublas}) {
    const std::string n = p + (path == MlpPath::Fused ? "/fused" : "/cublas");
    run_check(tally, "mlp_forward/" + n, [&] { return check_against_cpu(setup<T>(), path, false); });
  }
  for (const MlpPath path : {MlpPath::Fused, MlpPath::Cublas}) {
    const std::string n = p + (path == MlpPath::Fused ? "/fused" : "/cublas");
    run_check(tally, "mlp_forward_backward/" + n, [&] { return check_against_cpu(setup<T>(), path, true); });
  }
  run_check(tally, "mlp_backward_stats/" + p + " (separate vs fused vs checked gradient)",
            [&] { return check_stats(setup<T>()); });
  run_check(tally, "cublas_hidden_gemm/" + p + " (vs Eigen)", [&] { return HiddenGemm<T>().check(); });
}

int check_only() {
  Tally tally;
  run_checks<float>(tally, "f32");
  run_checks<double>(tally, "f64");
  std::printf("bench_cuda: %d of %d checks failed (%ld points)\n", tally.failed, tally.run, static_cast<long>(g_points));
  return tally.failed == 0 ? 0 : 1;
}

// Takes --check-only and --points N (or --points=N) out of argv, before Google Benchmark parses the rest.
// Returns false (after saying why) on a bad --points.
bool take_options(int& argc, char** argv, bool& checks_only) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* value = nullptr;
    if (std::strcmp(a, "--check-only") == 0) {
      checks_only = true;
      continue;
    }
    if (std::strcmp(a, "--points") == 0) {
      if (i + 1 == argc) {
        std::fprintf(stderr, "bench_cuda: --points needs a value\n");
        return false;
      }
      value = argv[++i];
    } else if (std::strncmp(a, "--points=", 9) == 0) {
      value = a + 9;
    }
    if (!value) {
      argv[kept++] = argv[i];
      continue;
    }
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || n < STATS_BATCHES) {
      std::fprintf(stderr, "bench_cuda: --points takes a whole number >= %d (the batch statistics' batches), got '%s'\n",
                   STATS_BATCHES, value);
      return false;
    }
    g_points = n;
  }
  argc = kept;
  argv[argc] = nullptr;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool checks_only = false;
  if (!take_options(argc, argv, checks_only)) return 1;
  std::string why;
  if (device_count(&why) == 0) {
    // Nothing to time is fine; checks asked for and not run are not a pass.
    std::printf("bench_cuda: no CUDA device (%s); nothing to %s\n", why.c_str(), checks_only ? "check" : "time");
    return checks_only ? 1 : 0;
  }
  std::printf("CUDA device 0: %s\n", device_name(0).c_str());
#if defined(JETPINN_CUDA_EMULATED)
  // The emulator's speed says nothing about a GPU's: no timing may come out of it.
  std::printf("bench_cuda: emulated device: checks only, no timings\n");
  checks_only = true;
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (checks_only) return check_only();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
