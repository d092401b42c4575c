// jetpinn_step: times training steps (jets forward, loss, reverse sweep, Adam) of a problem preset for
// bench/compare.py, and exports the step's initial weights and points so the peers can check their loss.
//   jetpinn_step allen-cahn --preset paper --precision f32 --points 4096 --steps 10     one JSON line
//   jetpinn_step ... --serve        after set-up prints {"ready": ...}; then each stdin line "K" runs K steps
//                                   and prints {"times": [...]} (so a driver can interleave it with peers)
//   jetpinn_step ... --export DIR   writes DIR/step.npz (param.NAME, term.NAME.points, term.NAME.data) and
//                                   DIR/step.json (loss at the initial weights, term names, weights, streams)
//   jetpinn_step ... --gemm         also times the three GEMM shapes of the step's hidden layers (rows =
//                                   streams x points) through the linked BLAS and Eigen's own product
//   jetpinn_step ... --bandwidth    also measures the memory bandwidth (triad y = a + 2 b over 3 x 256 MiB)
// Before timing it checks that the loss at the initial weights is finite and that a second evaluation at the
// same weights gives the same loss bit for bit.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gemm_eigen_native.h"
#include "npy.h"
#include "preset_step.h"

using namespace jetpinn;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? NAN : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

template <class M>
NpyArray to_npy(const M& m) {
  NpyArray a;
  a.shape = {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  a.data.resize(static_cast<std::size_t>(m.size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) a.data[static_cast<std::size_t>(i * m.cols() + j)] = static_cast<double>(m(i, j));
  return a;
}

template <class T>
void export_step(bench::PresetStep<T>& s, double loss0, const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::vector<std::pair<std::string, NpyArray>> arrays;
  Json params = Json::array();
  for (int i = 0; i < s.net->params().count(); ++i) {
    const ParamInfo& p = s.net->params().info(i);
    arrays.emplace_back("param." + p.name, to_npy(std::as_const(*s.net).params().value(i)));
    params.push_back(p.name);
  }
  Json terms = Json::array();
  for (const auto& t : s.trainer->terms()) {
    arrays.emplace_back("term." + t.name + ".points", to_npy(t.points));
    if (t.data.size() > 0) arrays.emplace_back("term." + t.name + ".data", to_npy(t.data));
    Json streams = Json::array();
    for (int k = 0; k < t.streams->size(); ++k) streams.push_back(t.streams->stream(k).name);
    terms.push_back({{"name", t.name}, {"weight", t.weight}, {"count", t.count}, {"streams", streams}});
  }
  write_npz(dir + "/step.npz", arrays);
  std::ofstream(dir + "/step.json") << Json{{"problem", s.info.name}, {"config", s.cfg}, {"loss0", loss0},
                                            {"params", params}, {"terms", terms}}
                                           .dump(1)
                                    << "\n";
}

// Combined GFLOP/s of the three hidden-layer shapes (equal flops each: total flops over total time).
template <class T>
Json time_gemm(Index rows, Index width) {
  RowMat<T> x = RowMat<T>::Random(rows, width), w = RowMat<T>::Random(width, width), dy = RowMat<T>::Random(rows, width);
  RowMat<T> y(rows, width), dw(width, width), dx(rows, width);
  const double flops = 2.0 * double(rows) * double(width) * double(width);
  auto best_of = [&](auto&& f) {
    f();
    double best = INFINITY;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = Clock::now();
      f();
      best = std::min(best, seconds_since(t0));
    }
    return best;
  };
  const double tf = best_of([&] { y.noalias() = x * w.transpose(); });
  const double tw = best_of([&] { dw.noalias() = dy.transpose() * x; });
  const double tx = best_of([&] { dx.noalias() = dy * w; });
  bench::EigenNativeGemm<T> native(rows, width, width);
  JETPINN_CHECK(native.check(), "Eigen's own GEMM gave a wrong result");
  const double tn = best_of([&] { native.run(); });
  return {{"blas", JETPINN_BLAS_NAME},
          {"rows", rows},
          {"width", width},
          {"blas_gflops", 3 * flops / (tf + tw + tx) * 1e-9},
          {"blas_fwd_dw_dx_gflops", {flops / tf * 1e-9, flops / tw * 1e-9, flops / tx * 1e-9}},
          {"eigen_fwd_gflops", flops / tn * 1e-9}};
}

// STREAM-like triad over arrays far larger than the caches, OpenMP threads as configured; best of 5.
Json time_bandwidth() {
  const Index n = Index(32) << 20;  // 32 Mi doubles = 256 MiB per array
  std::vector<double> a(static_cast<std::size_t>(n), 1.0), b(a.size(), 2.0), y(a.size(), 0.0);
  double best = INFINITY;
  for (int r = 0; r < 6; ++r) {
    const auto t0 = Clock::now();
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < n; ++i) y[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)] + 2.0 * b[static_cast<std::size_t>(i)];
    if (r > 0) best = std::min(best, seconds_since(t0));
  }
  JETPINN_CHECK(y[static_cast<std::size_t>(n / 2)] == 5.0, "triad check failed");
  return {{"triad_gbs", 3.0 * double(n) * sizeof(double) / best * 1e-9}};
}

template <class T>
int run(const std::string& problem, const std::string& preset, std::vector<std::string> sets, long points, int steps,
        int warmup, bool serve, const std::string& export_dir, bool gemm, bool bandwidth) {
  if (points > 0) sets.push_back("points.collocation=" + std::to_string(points));
  bench::PresetStep<T> s(problem, preset, sets);
  // Verify before timing: a finite loss, equal bit for bit when evaluated again at the same weights.
  const double loss0 = s.trainer->loss_and_gradient();
  const double again = s.trainer->loss_and_gradient();
  JETPINN_CHECK(std::isfinite(loss0), "the loss at the initial weights is " << loss0);
  JETPINN_CHECK(loss0 == again, "two evaluations at the same weights differ: " << loss0 << " vs " << again);
  if (!export_dir.empty()) export_step(s, loss0, export_dir);
  for (int i = 0; i < warmup; ++i) s.trainer->step();
  auto run_steps = [&](int k) {
    std::vector<double> times;
    for (int i = 0; i < k; ++i) {
      const auto t0 = Clock::now();
      const StepStats st = s.trainer->step();
      times.push_back(seconds_since(t0));
      JETPINN_CHECK(st.bad.empty(), "step " << st.step << ": " << st.bad);
    }
    return times;
  };
  Json head{{"peer", "jetpinn"},
            {"problem", problem},
            {"preset", preset},
            {"precision", sizeof(T) == 4 ? "f32" : "f64"},
            {"points", s.cfg.at("points").at("collocation")},
            {"threads", omp_get_max_threads()},
            {"blas", JETPINN_BLAS_NAME},
            {"loss0", loss0},
            {"gemm_flops", s.gemm_flops()},
            {"jet_rows", s.jet_rows()}};
  if (gemm) {
    const Index rows = s.trainer->terms()[0].streams->size() * s.trainer->terms()[0].count;
    head["gemm"] = time_gemm<T>(rows, s.net->config().width);
  }
  if (bandwidth) head["memory"] = time_bandwidth();
  Json widths = Json::array();
  for (const auto& p : s.net->params().infos())
    if (!p.is_bias) widths.push_back({p.name, p.rows, p.cols});
  head["weights"] = widths;
  if (serve) {
    std::cout << Json{{"ready", head}}.dump() << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
      if (line.empty()) continue;
      std::cout << Json{{"times", run_steps(std::stoi(line))}}.dump() << std::endl;
    }
    return 0;
  }
  const std::vector<double> times = run_steps(steps);
  head["median_s"] = median(times);
  head["times"] = times;
  std::cout << head.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time training steps of a jetpinn problem preset (see bench/compare.py)"};
  std::string problem, preset = "paper", precision = "f32", export_dir;
  std::vector<std::string> sets;
  long points = 0;
  int steps = 10, warmup = 3, threads = 0;
  bool serve = false, gemm = false, bandwidth = false;
  app.add_option("problem", problem, "allen-cahn, helmholtz, burgers, cavity")->required();
  app.add_option("--preset", preset, "preset name");
  app.add_option("--precision", precision, "f32 or f64")->check(CLI::IsMember({"f32", "f64"}));
  app.add_option("--points", points, "collocation points (points.collocation)");
  app.add_option("--set", sets, "key=value configuration override");
  app.add_option("--steps", steps, "timed steps");
  app.add_option("--warmup", warmup, "untimed steps first");
  app.add_option("--threads", threads, "OpenMP threads (0: default)");
  app.add_option("--export", export_dir, "write the initial weights, points and loss here");
  app.add_flag("--serve", serve, "read step counts from stdin, one per line");
  app.add_flag("--gemm", gemm, "also time the hidden-layer GEMM shapes");
  app.add_flag("--bandwidth", bandwidth, "also measure the memory bandwidth (triad)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) omp_set_num_threads(threads);
  try {
    return precision == "f32" ? run<float>(problem, preset, sets, points, steps, warmup, serve, export_dir, gemm, bandwidth)
                              : run<double>(problem, preset, sets, points, steps, warmup, serve, export_dir, gemm, bandwidth);
  } catch (const std::exception& e) {
    std::cerr << "jetpinn_step: " << e.what() << "\n";
    return 1;
  }
}
