// bench_cuda_step: full training steps of the Allen-Cahn `paper` preset (6 x 128 tanh, inputs (t, x), streams
// u, u_t, u_x, u_xx on 25,600 collocation points, 512 initial-condition points, Adam) on the CUDA backend,
// through Model<T>("allen-cahn", {train.backend: cuda, ...}, "paper"), as `jetpinn train --backend cuda` runs it.
// Variants: float32 with gemm fp32 (pedantic FP32), 3xtf32 and tf32, and float64. Each benchmark alternates three
// trainers of one variant in the same loop (order rotated every iteration, so drift hits all alike): plain
// (diagnostics off, plain Adam steps replayed as a CUDA graph), SNR every step (diagnostics.every = 1, batch-
// gradient SNR over 100 batches: those steps run eagerly) and plain with cuda_graph = false. One step = the
// wall time of Trainer::step() (it ends by downloading the step's scalars) followed by a stream synchronize.
// Checks before timing (a failure skips the benchmark with the reason): each trainer's first-step loss against
// the host trainer in float64 from the same parameters and points (relative, <= 1e-5 for fp32 and 3xtf32,
// <= 1e-2 for tf32, <= 1e-12 for f64), and the SNR trainer's first SNR finite and positive. Whether the graph
// trainers really replay graphs is reported (graph_launches), not required.
//
// FLOP count: GEMM FLOPs only, 2 per multiply-add, counted from the model (step_gemm_flops). Napkin numbers:
// residual term S = 4 streams x P = 25,600 points = 102,400 jet rows; layers 2->128, 5 x 128->128, 128->1, so
// sum in*out = 256 + 81,920 + 128 = 82,304. Forward 2 x 102,400 x 82,304 = 16.856 GFLOP (the five hidden
// layers alone 2 S P 128^2 x 5 = 16.777), plus the IC term's 512 value rows, 0.084: forward 16.940 GFLOP.
// Backward: weight gradients (16.940) and input gradients of every layer but the first (16.940 - 2 x 102,912 x
// 256 = 16.887): 33.828 GFLOP. Step: 50.77 GFLOP (about 17 forward + 34 backward; jetpinn_step's count, RESULTS.md).
// The SNR step's batch statistics and every jet rule are extra work not counted.
//
// Also here: the card's FP32 FMA peak (bench/ffma_peak.cu, measured in main) and the fused MLP forward +
// backward of bench_cuda (f32, pedantic; checked against the CPU tape) so the summary printed after the
// benchmarks gives both as a fraction of a measured peak, beside the step table and the ratios.
// --peer-step: a served device step for bench/compare_gpu.py (see peer_step below).
// Options of the benchmarks (besides Google Benchmark's): --check-only runs every check above (each trainer's
// first step, the fused MLP, the FFMA kernel's bit-for-bit check), one line each ("check NAME: ok (relative error
// E, tolerance T)" or "check NAME: FAILED (...)"), prints no timing and exits 1 if any failed (or there is no
// device); --points N overrides points.collocation as --peer-step --points does, and the fused MLP's points
// (N >= 100: the SNR's batches). On the emulated device (-DJETPINN_CUDA=EMULATE) it always runs --check-only, on
// 256 points unless --points says, without the FFMA check (measure_ffma_peak times its kernel right after
// checking it), and refuses --peer-step but with --host (nothing it times may come from the emulator).
// Status on a GPU: kernels/README.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint.h"
#include "cuda_device.h"
#include "device_mlp.h"
#include "ffma_peak.h"
#include "model.h"
#include "npy.h"

using namespace jetpinn;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* PROBLEM = "allen-cahn";
constexpr const char* PRESET = "paper";
constexpr long RUN_STEPS = 300000;  // the paper's run length, for the projected wall time
constexpr int WARMUP_STEPS = 5;     // after the checked first step: graphs captured, pools and scratch grown
constexpr long PAPER_POINTS = 25600;  // the preset's points.collocation
#if defined(JETPINN_CUDA_EMULATED)
constexpr long DEFAULT_POINTS = 256;  // every emulated kernel thread is a CPU fiber: the paper's size takes hours
#else
constexpr long DEFAULT_POINTS = 0;  // the preset's
#endif
long g_points = DEFAULT_POINTS;  // the benchmarks' --points (0: the preset's); --peer-step has its own
constexpr int SNR_BATCHES = 100;

// One check's outcome, for the benchmarks (counter, SkipWithError) and for --check-only (one printed line).
struct CheckResult {
  double error = NAN, tolerance = NAN;  // relative error and its bound
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

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ---- Configurations ----------------------------------------------------------------------------------------

enum Mode { PLAIN = 0, SNR = 1, NO_GRAPH = 2 };
constexpr int MODES = 3;
const char* const MODE_NAMES[MODES] = {"plain", "snr", "nograph"};

struct Variant {
  const char* name;  // benchmark name suffix
  bool f64;
  const char* gemm;  // train.gemm
};
const Variant VARIANTS[] = {{"f32_fp32", false, "fp32"}, {"f32_3xtf32", false, "3xtf32"}, {"f32_tf32", false, "tf32"},
                            {"f64", true, "fp32"}};
constexpr int VARIANT_COUNT = 4;

// host: train.backend = cpu (the --peer-step --host harness check); points > 0 overrides points.collocation.
Json step_config(const std::string& gemm, Mode mode, bool host = false, long points = 0) {
  Json cfg = {{"train", {{"backend", host ? "cpu" : "cuda"}, {"gemm", gemm}, {"cuda_graph", mode != NO_GRAPH}, {"device", 0}}}};
  cfg["diagnostics"] = mode == SNR ? Json{{"enabled", true}, {"every", 1}, {"snr_batches", SNR_BATCHES}} : Json{{"enabled", false}};
  if (points > 0) cfg["points"] = {{"collocation", points}};
  return cfg;
}

// Relative tolerance of the first-step loss against the host in float64: float32 GEMMs (pedantic or
// 3xTF32, which keeps float32 accuracy) round like the host's float32 path (~1e-6 seen on the CPU peers);
// TF32 keeps 10 mantissa bits (2^-11 = 4.9e-4 per product, growing through six layers and the derivative
// streams); float64 differs only in summation order.
double loss_tolerance(bool f64, const std::string& gemm) { return f64 ? 1e-12 : gemm == "tf32" ? 1e-2 : 1e-5; }

// 2 flops per multiply-add of every affine product of one step: per term (rows = streams x points) and weight
// (out x in): forward, weight gradient and, except for layer 0 (it reads the constant input jet), input gradient.
template <class T>
double step_gemm_flops(Model<T>& m) {
  double f = 0;
  for (const auto& term : m.trainer().terms()) {
    const double rows = static_cast<double>(term.streams->size()) * static_cast<double>(term.count);
    for (const auto& p : m.net().params().infos()) {
      if (p.is_bias) continue;
      const bool reads_input = p.name == "layer0.W" || p.name.rfind("encoder_", 0) == 0;
      f += 2.0 * rows * static_cast<double>(p.rows) * static_cast<double>(p.cols) * (reads_input ? 2 : 3);
    }
  }
  return f;
}

// ---- The float64 host reference ----------------------------------------------------------------------------

// The first-step loss of the host trainer in float64 from the parameters and points `dev` holds now (cast to
// double: exact from float). Cached: every trainer of a precision starts from the same seed.
template <class T>
double host_reference_loss(Model<T>& dev) {
  std::vector<double> key(dev.net().params().values(), dev.net().params().values() + dev.net().params().size());
  for (const auto& term : dev.trainer().terms()) key.insert(key.end(), term.points.data(), term.points.data() + term.points.size());
  static std::vector<double> cached_key;
  static double cached = NAN;
  if (key == cached_key) return cached;
  Model<double> host(PROBLEM, Json{{"diagnostics", {{"enabled", false}}}, {"points", dev.config().at("points")}}, PRESET);
  Checkpoint c = host.checkpoint();
  c.put("params", std::vector<double>(key.begin(), key.begin() + dev.net().params().size()));
  for (const auto& term : dev.trainer().terms()) {
    const std::string k = "term." + term.name + ".";
    c.put(k + "points", std::vector<double>(term.points.data(), term.points.data() + term.points.size()));
    c.put(k + "data", std::vector<double>(term.data.data(), term.data.data() + term.data.size()));
  }
  host.restore(c);
  const StepStats s = host.trainer().step();
  JETPINN_CHECK(s.bad.empty(), "the host reference step failed: " << s.bad);
  cached_key = std::move(key);
  cached = s.loss;
  return cached;
}

// A device trainer after its checked first step (and, once warm_up ran, the warm-up); `error` says why it
// cannot be timed.
template <class T>
struct CheckedModel {
  std::unique_ptr<Model<T>> model;
  double loss0 = NAN, ref = NAN, rel = NAN, tol = NAN, snr0 = NAN;
  std::string error;
  CheckResult check() const { return {rel, tol, error}; }
};

// The trainer of `cfg` and its checked first step: the loss against the host in float64 (and, for SNR, a
// finite positive SNR). initial (when given) receives the initial weights and points in the peers' export format.
template <class T>
CheckedModel<T> checked_model(const Json& cfg, Mode mode, std::vector<std::pair<std::string, NpyArray>>* initial = nullptr) {
  CheckedModel<T> c;
  const std::string gemm = cfg.at("train").at("gemm");
  try {
    c.model = std::make_unique<Model<T>>(PROBLEM, cfg, PRESET);
    Model<T>& m = *c.model;
    c.ref = host_reference_loss(m);
    if (initial) {
      for (int i = 0; i < m.net().params().count(); ++i) {
        const auto v = std::as_const(m.net()).params().value(i);
        NpyArray a;
        a.shape = {static_cast<std::size_t>(v.rows()), static_cast<std::size_t>(v.cols())};
        for (Index r = 0; r < v.rows(); ++r)
          for (Index k = 0; k < v.cols(); ++k) a.data.push_back(static_cast<double>(v(r, k)));
        initial->emplace_back("param." + m.net().params().info(i).name, std::move(a));
      }
      for (const auto& t : m.trainer().terms()) {
        auto add = [&](const std::string& name, const RowMat<T>& x) {
          NpyArray a;
          a.shape = {static_cast<std::size_t>(x.rows()), static_cast<std::size_t>(x.cols())};
          a.data.assign(x.data(), x.data() + x.size());
          initial->emplace_back(name, std::move(a));
        };
        add("term." + t.name + ".points", t.points);
        if (t.data.size() > 0) add("term." + t.name + ".data", t.data);
      }
    }
    const StepStats s = m.trainer().step();
    if (!s.bad.empty()) throw std::runtime_error("first device step: " + s.bad);
    c.loss0 = s.loss;
    c.rel = std::abs(s.loss - c.ref) / std::abs(c.ref);
    c.tol = loss_tolerance(sizeof(T) == 8, gemm);
    if (!(c.rel <= c.tol)) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "%s/%s: first-step loss %.17g on the device vs %.17g on the host in float64 (rel %.3g > %.0e)",
                    gemm.c_str(), MODE_NAMES[mode], c.loss0, c.ref, c.rel, c.tol);
      throw std::runtime_error(buf);
    }
    if (mode == SNR) {
      if (!s.diag || !std::isfinite(s.diag->grad.snr) || !(s.diag->grad.snr > 0))
        throw std::runtime_error("the SNR trainer's first step measured no finite positive SNR");
      c.snr0 = s.diag->grad.snr;
    }
  } catch (const std::exception& e) {
    c.error = e.what();
    c.model.reset();
  }
  return c;
}

// The untimed steps after the check, for the timed users only (--check-only has no use for them).
template <class T>
void warm_up(CheckedModel<T>& c) {
  if (!c.error.empty()) return;
  try {
    for (int i = 0; i < WARMUP_STEPS; ++i) {
      const StepStats w = c.model->trainer().step();
      if (!w.bad.empty()) throw std::runtime_error("warm-up step " + std::to_string(w.step) + ": " + w.bad);
    }
  } catch (const std::exception& e) {
    c.error = e.what();
    c.model.reset();
  }
}

// One timed step: Trainer::step() (which waits for its scalars) and a stream synchronize.
template <class T>
double timed_step(Model<T>& m, long* bad) {
  const auto t0 = Clock::now();
  const StepStats s = m.trainer().step();
  if (Backend<T>* be = m.trainer().backend()) be->ops().synchronize();
  const double t = seconds_since(t0);
  if (!s.bad.empty()) ++*bad;
  return t;
}

// ---- Results kept for the summary --------------------------------------------------------------------------

struct StepResult {
  std::string name;
  double ms[MODES] = {NAN, NAN, NAN};
  double rel[MODES] = {NAN, NAN, NAN};
  double flops = 0;
  long launches[MODES] = {0, 0, 0};
};
std::vector<StepResult> g_steps;
double g_fused_gflops = NAN, g_fused_ms = NAN, g_fused_flops = 0;
bench::FfmaPeak g_peak;
std::string g_device;

StepResult& result(const std::string& name) {
  for (auto& r : g_steps)
    if (r.name == name) return r;
  g_steps.push_back({});
  g_steps.back().name = name;
  return g_steps.back();
}

// The trainers of the variant being timed (one variant's device memory at a time: f64 takes ~3 x 2.5 GB).
template <class T>
struct VariantSet {
  std::string name;
  CheckedModel<T> m[MODES];
};
std::unique_ptr<VariantSet<float>> g_f32;
std::unique_ptr<VariantSet<double>> g_f64;

template <class T>
std::unique_ptr<VariantSet<T>>& slot();
template <>
std::unique_ptr<VariantSet<float>>& slot<float>() { return g_f32; }
template <>
std::unique_ptr<VariantSet<double>>& slot<double>() { return g_f64; }

template <class T>
VariantSet<T>& variant_set(const Variant& v) {
  auto& s = slot<T>();
  if (!s || s->name != v.name) {
    g_f32.reset();
    g_f64.reset();
    s = std::make_unique<VariantSet<T>>();
    s->name = v.name;
    for (int k = 0; k < MODES; ++k) {
      s->m[k] = checked_model<T>(step_config(v.gemm, static_cast<Mode>(k), false, g_points), static_cast<Mode>(k));
      warm_up(s->m[k]);
    }
  }
  return *s;
}

template <class T>
void BM_step(benchmark::State& state, int variant) {
  const Variant& v = VARIANTS[variant];
  VariantSet<T>& set = variant_set<T>(v);
  for (int k = 0; k < MODES; ++k)
    if (!set.m[k].error.empty()) {
      state.SkipWithError(set.m[k].error.c_str());
      return;
    }
  std::vector<double> t[MODES];
  long bad = 0, it = 0;
  for (auto _ : state) {
    double total = 0;
    for (int j = 0; j < MODES; ++j) {
      const int k = static_cast<int>((it + j) % MODES);
      const double s = timed_step(*set.m[k].model, &bad);
      t[k].push_back(s);
      total += s;
    }
    ++it;
    state.SetIterationTime(total);
  }
  if (bad > 0) {
    state.SkipWithError((std::to_string(bad) + " timed steps found a NaN/Inf").c_str());
    return;
  }
  StepResult& r = result(v.name);
  r.flops = step_gemm_flops(*set.m[PLAIN].model);
  for (int k = 0; k < MODES; ++k) {
    r.ms[k] = 1e3 * median(t[k]);
    r.rel[k] = set.m[k].rel;
    r.launches[k] = set.m[k].model->trainer().graph_launches();
  }
  state.counters["plain_ms"] = r.ms[PLAIN];
  state.counters["snr_ms"] = r.ms[SNR];
  state.counters["nograph_ms"] = r.ms[NO_GRAPH];
  state.counters["steps/s"] = 1e3 / r.ms[PLAIN];
  state.counters["min_300k"] = r.ms[PLAIN] * RUN_STEPS / 6e4;
  state.counters["GFLOP/s"] = r.flops / r.ms[PLAIN] * 1e-6;
  state.counters["snr/plain"] = r.ms[SNR] / r.ms[PLAIN];
  state.counters["nograph/plain"] = r.ms[NO_GRAPH] / r.ms[PLAIN];
  state.counters["loss0_rel"] = std::max({r.rel[PLAIN], r.rel[SNR], r.rel[NO_GRAPH]});
  state.counters["graph_launches"] = static_cast<double>(r.launches[PLAIN]);
  std::string label = std::string(v.name) + ", SNR0 " + std::to_string(set.m[SNR].snr0);
  if (r.launches[PLAIN] == 0) label += ", GRAPH NOT REPLAYED";
  if (r.launches[NO_GRAPH] != 0) label += ", NO-GRAPH TRAINER REPLAYED A GRAPH";
  state.SetLabel(label);
}

// ---- The fused MLP of bench_cuda, f32 pedantic: forward + backward --------------------------------------------

struct FusedSetup {
  const Index points = g_points > 0 ? g_points : PAPER_POINTS;
  static constexpr int DEPTH = 6, WIDTH = 128;
  cuda::Context ctx{0};
  StreamSetPtr streams = StreamSet::make({"t", "x"}, {"t", "xx"});
  Mlp<float> mlp{MlpConfig{2, 1, DEPTH, WIDTH, Activation::Tanh, false, {}, {}}, 7};
  cuda::DeviceMlp<float> dm{ctx, mlp, streams};
  cuda::DeviceTensor<float> x{ctx}, dy{ctx};
  RowMat<float> pts, g;
  double flops = 0;  // forward + backward: 3 x 2 R (2 W + (D - 1) W^2 + W), bench_cuda's count (50.57 GFLOP at 25,600)
  FusedSetup() {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    pts.resize(points, 2);
    for (Index i = 0; i < pts.size(); ++i) pts.data()[i] = static_cast<float>(u(rng));
    x.upload(cuda::DeviceMlp<float>::input_jet(ConstMatView<float>(pts.data(), pts.rows(), pts.cols()), *streams));
    g.resize(streams->size() * points, 1);
    for (Index i = 0; i < g.size(); ++i) g.data()[i] = static_cast<float>(u(rng));
    dy.upload(g);
    const double R = static_cast<double>(streams->size() * points);
    flops = 3 * 2 * R * (2.0 * WIDTH + (DEPTH - 1.0) * WIDTH * WIDTH + WIDTH * 1.0);
  }
  void run() {
    dm.forward(x, cuda::MlpPath::Fused);
    dm.zero_grad();
    dm.backward(dy, cuda::MlpPath::Fused);
  }
  // The gradient of sum(y * dy) against the CPU tape on the same weights and points (normwise, 1e-5 as bench_cuda).
  CheckResult check() {
    Tape<float> tape(&mlp.params());
    Var<float> y = mlp.forward(tape, tape.input(pts, streams));
    mlp.params().zero_grad();
    // Stream by stream, as bench_cuda's seeded_sum: the tape multiplies only operands of one stream set.
    Var<float> seeded;
    for (int k = 0; k < streams->size(); ++k) {
      const Var<float> term = sum(tape.component(y, k) * tape.constant(RowMat<float>(g.middleRows(k * points, points))));
      seeded = k == 0 ? term : seeded + term;
    }
    tape.backward(seeded);
    const std::vector<double> want(mlp.params().grads(), mlp.params().grads() + mlp.params().size());
    run();
    ParamStore<float> store = mlp.params();
    dm.download_grads(store);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const double d = static_cast<double>(store.grads()[i]) - want[i];
      num += d * d;
      den += want[i] * want[i];
    }
    CheckResult r{std::sqrt(num / (den > 0 ? den : 1.0)), 1e-5, {}};
    if (!(r.error <= r.tolerance)) r.failure = "fused MLP gradient differs from the CPU tape: " + std::to_string(r.error);
    return r;
  }
};

std::unique_ptr<FusedSetup> g_fused;  // released in main, before the CUDA runtime shuts down

void BM_fused_mlp_forward_backward(benchmark::State& state) {
  std::unique_ptr<FusedSetup>& s = g_fused;
  static CheckResult checked;
  try {
    if (!s) {
      auto fresh = std::make_unique<FusedSetup>();
      checked = fresh->check();
      s = std::move(fresh);  // only once checked: a throw leaves nothing unchecked to time
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  if (!passed(state, checked, "check_rel_err")) return;
  s->run();
  s->ctx.synchronize();
  std::vector<double> t;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    s->run();
    s->ctx.synchronize();
    t.push_back(seconds_since(t0));
    state.SetIterationTime(t.back());
  }
  g_fused_flops = s->flops;
  g_fused_ms = 1e3 * median(t);
  g_fused_gflops = s->flops / g_fused_ms * 1e-6;
  state.counters["GFLOP/s"] = g_fused_gflops;
  if (g_peak.gflops > 0) state.counters["of_ffma_peak"] = g_fused_gflops / g_peak.gflops;
}

// ---- The summary -------------------------------------------------------------------------------------------

// Measurement steps in a RUN_STEPS run at the paper's cadence (every 10 below step 300, then every 100).
long cadence_measurements() {
  long n = 0;
  for (long s = 0; s < RUN_STEPS; ++s) n += diagnostics_due(s, 0) ? 1 : 0;
  return n;
}

void print_summary() {
  std::printf("\n# bench_cuda_step summary: %s (one run; ratios from medians measured in this run)\n", g_device.c_str());
  if (g_peak.error.empty())
    std::printf("FP32 FMA peak, measured (register-resident FFMA, %d SMs): %.1f TFLOP/s; datasheet-style 128 lanes x 2 x %d SMs "
                "x %d MHz = %.1f TFLOP/s (%.0f%% of it)\n",
                g_peak.sms, g_peak.gflops * 1e-3, g_peak.sms, g_peak.clock_mhz, g_peak.spec_gflops * 1e-3,
                100 * g_peak.gflops / g_peak.spec_gflops);
  else
    std::printf("FP32 FMA peak: not measured (%s)\n", g_peak.error.c_str());
  const double peak = g_peak.gflops > 0 ? g_peak.gflops : NAN;
  // The paper's size as before --points existed; another --points says its own.
  const bool paper = g_points == 0 || g_points == PAPER_POINTS;
  const std::string rows = paper ? "102,400" : std::to_string(4 * g_points);
  if (std::isfinite(g_fused_gflops))
    std::printf("Fused MLP forward + backward (f32 pedantic, %s jet rows): %.3f ms, %.1f GFLOP -> %.1f TFLOP/s = %.1f%% of "
                "the measured FFMA peak\n",
                rows.c_str(), g_fused_ms, g_fused_flops * 1e-9, g_fused_gflops * 1e-3, 100 * g_fused_gflops / peak);
  if (g_steps.empty()) return;
  const long meas = cadence_measurements();
  const std::string split = paper ? "forward 16.94 + backward 33.83" : std::to_string(g_points) + " collocation points";
  std::printf("\nStep GEMM count %.2f GFLOP (%s). 300k projection at the paper's SNR cadence: "
              "%ld measured steps, the rest plain.\n\n",
              g_steps.front().flops * 1e-9, split.c_str(), meas);
  std::printf("| variant | plain ms/step | steps/s | 300k steps (min) | GFLOP/s | %% of FFMA peak | SNR-every-step ms | SNR / plain "
              "| no-graph ms | no-graph / plain | 300k, paper cadence (min) | loss0 rel (plain, snr, no-graph) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : g_steps) {
    const double p = r.ms[PLAIN];
    const double gf = r.flops / p * 1e-6;
    const double cad = ((RUN_STEPS - meas) * p + meas * r.ms[SNR]) / 6e4;
    std::printf("| %s%s | %.3f | %.1f | %.1f | %.0f | %.1f%%%s | %.3f | %.2fx | %.3f | %.2fx | %.1f | %.1e, %.1e, %.1e |\n",
                r.name.c_str(), r.launches[PLAIN] == 0 ? " (graph not replayed)" : "", p, 1e3 / p, p * RUN_STEPS / 6e4, gf,
                100 * gf / peak, r.name == "f32_fp32" ? "" : r.name == "f64" ? " (of FP32)" : " (tensor cores)", r.ms[SNR],
                r.ms[SNR] / p, r.ms[NO_GRAPH], r.ms[NO_GRAPH] / p, cad, r.rel[PLAIN], r.rel[SNR], r.rel[NO_GRAPH]);
  }
  auto find = [&](const char* n) -> const StepResult* {
    for (const auto& r : g_steps)
      if (r.name == n) return &r;
    return nullptr;
  };
  const StepResult *fp32 = find("f32_fp32"), *tf32 = find("f32_tf32"), *x3 = find("f32_3xtf32"), *f64 = find("f64");
  std::printf("\nRatios of plain ms/step (< 1: faster than fp32):");
  if (fp32 && tf32) std::printf("  tf32 / fp32 = %.3f", tf32->ms[PLAIN] / fp32->ms[PLAIN]);
  if (fp32 && x3) std::printf("  3xtf32 / fp32 = %.3f", x3->ms[PLAIN] / fp32->ms[PLAIN]);
  if (fp32 && f64) std::printf("  f64 / f32-fp32 = %.3f", f64->ms[PLAIN] / fp32->ms[PLAIN]);
  std::printf("\nSNR every step / plain:");
  for (const auto& r : g_steps) std::printf("  %s %.2fx", r.name.c_str(), r.ms[SNR] / r.ms[PLAIN]);
  std::printf("\nGraph gain (no-graph / graph):");
  for (const auto& r : g_steps) std::printf("  %s %.2fx", r.name.c_str(), r.ms[NO_GRAPH] / r.ms[PLAIN]);
  std::printf("\n");
}

// ---- --peer-step: a served device step for bench/compare_gpu.py ---------------------------------------------
//   bench_cuda_step --peer-step [--precision f32|f64] [--gemm fp32|3xtf32|tf32] [--no-graph] [--export DIR]
//                   [--serve] [--steps N] [--warmup N] [--points N] [--host]
// Same protocol as bench/jetpinn_step (the peers' loader reads its export format): --export writes DIR/step.npz
// (initial weights, points, data) and DIR/step.json (loss0 = the device's first-step loss at those weights);
// --serve prints {"ready": {...}} after the checked first step and the warm-up, then answers each stdin line K
// with {"times": [K step seconds]}; without --serve it times --steps steps and prints one JSON line.
// --host runs the same on the host trainer (train.backend = cpu, no GPU needed: a check of the harness itself,
// e.g. bench/compare_gpu.py --host-check); --points overrides points.collocation (25,600).

struct PeerOptions {
  std::string precision = "f32", gemm = "fp32", export_dir;
  bool serve = false, graph = true, host = false;
  long points = 0;
  int steps = 20, warmup = 0;  // extra untimed steps (checked_model already ran WARMUP_STEPS)
};

template <class T>
int peer_step(const PeerOptions& o) {
  std::vector<std::pair<std::string, NpyArray>> initial;
  const Mode mode = o.graph ? PLAIN : NO_GRAPH;
  CheckedModel<T> c = checked_model<T>(step_config(o.gemm, mode, o.host, o.points), mode, o.export_dir.empty() ? nullptr : &initial);
  warm_up(c);
  if (!c.error.empty()) {
    std::cerr << "bench_cuda_step --peer-step: " << c.error << "\n";
    return 1;
  }
  Model<T>& m = *c.model;
  if (!o.export_dir.empty()) {
    std::filesystem::create_directories(o.export_dir);
    write_npz(o.export_dir + "/step.npz", initial);
    Json params = Json::array(), terms = Json::array();
    for (const auto& p : m.net().params().infos()) params.push_back(p.name);
    for (const auto& t : m.trainer().terms()) {
      Json streams = Json::array();
      for (int k = 0; k < t.streams->size(); ++k) streams.push_back(t.streams->stream(k).name);
      terms.push_back({{"name", t.name}, {"weight", t.weight}, {"count", t.count}, {"streams", streams}});
    }
    std::ofstream(o.export_dir + "/step.json") << Json{{"problem", PROBLEM}, {"config", m.config()}, {"loss0", c.loss0},
                                                       {"params", params}, {"terms", terms}}
                                                      .dump(1)
                                               << "\n";
  }
  for (int i = 0; i < o.warmup; ++i) m.trainer().step();
  long bad = 0;
  auto run = [&](int k) {
    std::vector<double> t;
    for (int i = 0; i < k; ++i) t.push_back(timed_step(m, &bad));
    JETPINN_CHECK(bad == 0, "a timed step found a NaN/Inf");
    return t;
  };
  Json head{{"peer", "jetpinn"},
            {"version", o.host ? std::string("host ") + (sizeof(T) == 8 ? "f64" : "f32")
                               : std::string("cuda ") + (sizeof(T) == 8 ? "f64" : o.gemm) + (o.graph ? " graph" : " no-graph")},
            {"device", o.host ? std::string("host (train.backend = cpu)") : g_device},
            {"problem", PROBLEM},
            {"preset", PRESET},
            {"precision", o.precision},
            {"gemm", o.gemm},
            {"graph", o.graph},
            {"points", m.config().at("points").at("collocation")},
            {"loss0", c.loss0},
            {"loss0_host_f64", c.ref},
            {"loss0_rel_host_f64", c.rel},
            {"gemm_flops", step_gemm_flops(m)},
            {"graph_launches_warm", m.trainer().graph_launches()}};
  if (o.serve) {
    std::cout << Json{{"ready", head}}.dump() << std::endl;
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) std::cout << Json{{"times", run(std::stoi(line))}}.dump() << std::endl;
    return 0;
  }
  const std::vector<double> t = run(o.steps);
  head["median_s"] = median(t);
  head["times"] = t;
  std::cout << head.dump() << std::endl;
  return 0;
}

int peer_main(int argc, char** argv) {
  PeerOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      JETPINN_CHECK(i + 1 < argc, a << " needs a value");
      return argv[++i];
    };
    if (a == "--peer-step") continue;
    if (a == "--precision") o.precision = value();
    else if (a == "--gemm") o.gemm = value();
    else if (a == "--export") o.export_dir = value();
    else if (a == "--steps") o.steps = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--serve") o.serve = true;
    else if (a == "--no-graph") o.graph = false;
    else if (a == "--host") o.host = true;
    else if (a == "--points") o.points = std::stol(value());
    else JETPINN_CHECK(false, "unknown option '" << a << "'; --peer-step takes --precision f32|f64, --gemm fp32|3xtf32|tf32, "
                                                    "--no-graph, --export DIR, --serve, --steps N, --warmup N, --points N, --host");
  }
  JETPINN_CHECK(o.precision == "f32" || o.precision == "f64", "--precision must be f32 or f64, got " << o.precision);
  JETPINN_CHECK(o.gemm == "fp32" || o.gemm == "3xtf32" || o.gemm == "tf32", "--gemm must be fp32, 3xtf32 or tf32, got " << o.gemm);
  JETPINN_CHECK(o.precision == "f32" || o.gemm == "fp32", "--gemm " << o.gemm << " needs --precision f32");
  JETPINN_CHECK(!o.host || o.gemm == "fp32", "--host runs the host trainer: --gemm must be fp32");
  return o.precision == "f32" ? peer_step<float>(o) : peer_step<double>(o);
}

// ---- --check-only ------------------------------------------------------------------------------------------

struct Tally {
  int run = 0, failed = 0, skipped = 0;
};

// Prints one check's line; a throw (CUDA error, emulator finding) is a failure too.
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

// Every check the benchmarks make, in their order: each variant's three trainers (one alive at a time), the
// fused MLP, then the FFMA kernel's.
int check_only() {
  Tally tally;
  for (const Variant& v : VARIANTS)
    for (int k = 0; k < MODES; ++k) {
      const Mode mode = static_cast<Mode>(k);
      const std::string name = std::string("step/") + v.name + "/" + MODE_NAMES[k] +
                               (mode == SNR ? " (first-step loss vs host f64, SNR finite)" : " (first-step loss vs host f64)");
      const Json cfg = step_config(v.gemm, mode, false, g_points);
      run_check(tally, name, [&] { return v.f64 ? checked_model<double>(cfg, mode).check() : checked_model<float>(cfg, mode).check(); });
    }
  run_check(tally, "fused_mlp_forward_backward/f32 (vs CPU tape)", [] { return FusedSetup().check(); });
#if defined(JETPINN_CUDA_EMULATED)
  // measure_ffma_peak checks a launch of 132 x 16 blocks x 1000 FMA rounds, then times 2^15 rounds: both far
  // beyond the emulator, and its check has no entry of its own (bench/ffma_peak.cu).
  std::printf("check ffma_peak (bit-for-bit vs host fma chains): skipped on the emulated device (measure_ffma_peak "
              "times its kernel after checking it)\n");
  ++tally.skipped;
#else
  // The check runs inside the measurement; its timing is dropped unprinted.
  run_check(tally, "ffma_peak (bit-for-bit vs host fma chains)", [] {
    const bench::FfmaPeak peak = bench::measure_ffma_peak(0);
    return CheckResult{peak.error.empty() ? 0.0 : NAN, 0.0, peak.error};
  });
#endif
  std::printf("bench_cuda_step: %d of %d checks failed, %d skipped (%ld collocation points)\n", tally.failed, tally.run,
              tally.skipped, g_points > 0 ? g_points : PAPER_POINTS);
  return tally.failed == 0 ? 0 : 1;
}

// Takes the benchmarks' --check-only and --points N (or --points=N) out of argv, before Google Benchmark parses
// the rest. Returns false (after saying why) on a bad --points.
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
        std::fprintf(stderr, "bench_cuda_step: --points needs a value\n");
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
    if (*value == '\0' || *end != '\0' || n < SNR_BATCHES) {
      std::fprintf(stderr, "bench_cuda_step: --points takes a whole number >= %d (the SNR's batches), got '%s'\n",
                   SNR_BATCHES, value);
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
  bool peer = false, host = false, console = true;
  for (int i = 1; i < argc; ++i) {
    peer = peer || std::strcmp(argv[i], "--peer-step") == 0;
    host = host || std::strcmp(argv[i], "--host") == 0;
    console = console && std::strncmp(argv[i], "--benchmark_format=", 19) != 0;
  }
#if defined(JETPINN_CUDA_EMULATED)
  if (peer && !host) {
    std::fprintf(stderr, "bench_cuda_step --peer-step: emulated device: it times device steps; only --host runs here\n");
    return 1;
  }
#endif
  bool checks_only = false;  // --peer-step reads its own options
  if (!peer && !take_options(argc, argv, checks_only)) return 1;
  std::string why;
  if (!(peer && host)) {
    if (cuda::device_count(&why) == 0) {
      // A served peer must fail loudly (its driver waits for it), and so must checks asked for; the benchmarks
      // just have nothing to time.
      std::fprintf(peer ? stderr : stdout, "bench_cuda_step: no CUDA device (%s); nothing to %s\n", why.c_str(),
                   checks_only ? "check" : "time");
      return peer || checks_only ? 1 : 0;
    }
    g_device = cuda::device_name(0);
  }
  if (peer) {
    try {
      return peer_main(argc, argv);
    } catch (const std::exception& e) {
      std::cerr << "bench_cuda_step --peer-step: " << e.what() << "\n";
      return 1;
    }
  }
  std::printf("CUDA device 0: %s\n", g_device.c_str());
#if defined(JETPINN_CUDA_EMULATED)
  // The emulator's speed says nothing about a GPU's: no timing may come out of it.
  std::printf("bench_cuda_step: emulated device: checks only, no timings\n");
  checks_only = true;
#endif
  if (!checks_only) g_peak = bench::measure_ffma_peak(0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (checks_only) return check_only();
  for (int v = 0; v < VARIANT_COUNT; ++v) {
    const std::string name = std::string("BM_step/") + VARIANTS[v].name;
    auto* b = VARIANTS[v].f64 ? benchmark::RegisterBenchmark(name.c_str(), BM_step<double>, v)
                              : benchmark::RegisterBenchmark(name.c_str(), BM_step<float>, v);
    b->UseManualTime()->Unit(benchmark::kMillisecond);  // --benchmark_min_time applies (default 0.5 s)
  }
  benchmark::RegisterBenchmark("BM_fused_mlp_forward_backward/f32", BM_fused_mlp_forward_backward)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  g_f32.reset();
  g_f64.reset();
  g_fused.reset();
  if (console) print_summary();
  benchmark::Shutdown();
  return 0;
}
