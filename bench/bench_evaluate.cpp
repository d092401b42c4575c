// Model::evaluate called repeatedly on one batch shape against a hand-reused tape (the peer: one Tape kept by the
// caller, reset and recorded again each call, as the trainer does). A 20-input problem with a collapsed
// Laplacian stream, 3 x 128 tanh in float64, 1,024 points, quantities u and u_lap. Checks first that both give
// the same values bit for bit, then times both and prints time(evaluate) / time(hand-reused tape).
//   build/bench/bench_evaluate --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

#include "model.h"
#include "pde.h"

using namespace jetpinn;

namespace {

constexpr int INPUTS = 20;
constexpr Index POINTS = 1024;

ProblemSpec laplace_spec() {
  ProblemSpec s;
  s.name = "bench_evaluate";
  for (int i = 0; i < INPUTS; ++i) s.inputs.push_back("x" + std::to_string(i));
  s.outputs = {"u"};
  s.laplacian_inputs = s.inputs;
  TermSpec r("residual", {"lap"}, true);
  r.count = 64;
  r.sampler = [](Index n, Rng& rng) {
    RowMat<double> p(n, INPUTS);
    for (Index i = 0; i < p.size(); ++i) p.data()[i] = rng.uniform();
    return p;
  };
  s.add_term(r, [](auto u, auto&, const auto&) { return u.d("lap") + 1.0; });
  return s;
}

struct Setup {
  ProblemInfo info = laplace_spec().info();
  Model<> model{info, {{"net", {{"depth", 3}, {"width", 128}}}}};
  RowMat<double> points = RowMat<double>::Random(POINTS, INPUTS);
  std::vector<std::string> names{"u", "u_lap"};
  StreamSetPtr streams = quantity_streams(info, model.problem(), names);
  Tape<double> tape{&model.net().params()};
  // The peer: the caller's tape, reset and recorded again, the two columns copied out.
  RowMat<double> hand() {
    RowMat<double> out(POINTS, 2);
    tape.reset();
    Var<double> u = model.net().forward(tape, tape.input(points, streams));
    out.col(0) = u.d("").col(0).value().mat();
    out.col(1) = u.d("lap").col(0).value().mat();
    return out;
  }
};
Setup& setup() {
  static Setup s;
  return s;
}

void BM_evaluate_model(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) benchmark::DoNotOptimize(s.model.evaluate(s.points, s.names).data());
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(POINTS), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_evaluate_hand_tape(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) benchmark::DoNotOptimize(s.hand().data());
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(POINTS), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_evaluate_model)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_evaluate_hand_tape)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Keeps each benchmark's real time per iteration for the ratio.
class Recorder : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> seconds;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Iteration) seconds[r.benchmark_name()] = r.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Setup& s = setup();
  const RowMat<double> a = s.model.evaluate(s.points, s.names), b = s.hand();
  if (!a.allFinite() || a != b) {
    std::fprintf(stderr, "bench_evaluate: Model::evaluate and the hand-reused tape disagree\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  Recorder rec;
  benchmark::RunSpecifiedBenchmarks(&rec);
  const double model = rec.seconds["BM_evaluate_model/real_time"], hand = rec.seconds["BM_evaluate_hand_tape/real_time"];
  if (model > 0 && hand > 0) std::printf("ratio evaluate / hand-reused tape: %.3f\n", model / hand);
  benchmark::Shutdown();
  return 0;
}
