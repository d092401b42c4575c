// Resume bit-identity: a run stopped at step k and resumed reaches exactly the parameters (and optimizer
// state) of an uninterrupted run, on CPU with the same seed, in float64 and float32, through Adam, RBA and
// the switch to L-BFGS, with the diagnostics measured (their batch sums included), on 1 and 2 threads; the
// driver's metrics.jsonl of the two runs are the same apart from elapsed times.
#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "checkpoint.h"
#include "config.h"
#include "model.h"
#include "temp_dir.h"
#include "train_command.h"

using namespace jetpinn;

namespace {
TrainArgs tiny_run(const std::string& out, long iters, const std::string& precision, bool lbfgs) {
  TrainArgs a;
  a.problem = "helmholtz";
  a.preset = "quick";
  a.out = out;
  a.iters = iters;
  a.iters_given = true;
  a.precision = precision;
  a.quiet = true;
  a.sets = {"net.depth=2", "net.width=8", "points.collocation=64", "train.eval_every=0", "train.checkpoint_every=7",
            "loss.rba.enabled=true", "net.hard_bc=false", "points.boundary=16"};
  if (lbfgs) a.sets.push_back("optim.lbfgs_from=20");
  return a;
}
}  // namespace

TEST_CASE("train: a resumed run is bit-identical to an uninterrupted one") {
  for (const std::string precision : {"f64", "f32"})
    for (const bool lbfgs : {false, true}) {
      CAPTURE(precision);
      CAPTURE(lbfgs);
      TempDir dir("resume");
      const std::string whole = (dir.path / "whole").string(), split = (dir.path / "split").string();
      REQUIRE(run_train(tiny_run(whole, 30, precision, lbfgs)) == 0);
      REQUIRE(run_train(tiny_run(split, lbfgs ? 24 : 17, precision, lbfgs)) == 0);
      TrainArgs resume;
      resume.resume = split;
      resume.iters = 30;
      resume.iters_given = true;
      resume.quiet = true;
      REQUIRE(run_train(resume) == 0);
      const Checkpoint a = Checkpoint::read(whole + "/checkpoint", "helmholtz");
      const Checkpoint b = Checkpoint::read(split + "/checkpoint", "helmholtz");
      for (const char* entry : {"params", "adam.m", "adam.v", "term.residual.lambda"}) {
        CAPTURE(entry);
        if (precision == "f64") CHECK(a.get<double>(entry) == b.get<double>(entry));
        else CHECK(a.get<float>(entry) == b.get<float>(entry));
      }
      CHECK(a.get<std::int64_t>("step") == b.get<std::int64_t>("step"));
      CHECK(a.has("lbfgs.counts") == lbfgs);
      if (lbfgs && precision == "f64") CHECK(a.get<double>("lbfgs.s") == b.get<double>("lbfgs.s"));
    }
}

namespace {
// Training state that must come out of a resume bit for bit: parameters, Adam's moments, RBA multipliers, points,
// counters, RNG, the phase detector's trace and L-BFGS's history.
template <class T>
void check_same_state(const Checkpoint& a, const Checkpoint& b) {
  for (const std::string entry : {"params", "adam.m", "adam.v", "term.residual.lambda", "term.residual.points"}) {
    CAPTURE(entry);
    CHECK(a.get<T>(entry) == b.get<T>(entry));
  }
  for (const std::string entry : {"step", "phases.steps"}) {
    CAPTURE(entry);
    CHECK(a.get<std::int64_t>(entry) == b.get<std::int64_t>(entry));
  }
  CHECK(a.get<std::uint64_t>("rng") == b.get<std::uint64_t>("rng"));
  CHECK(a.get<double>("phases.snr") == b.get<double>("phases.snr"));
  REQUIRE(a.has("lbfgs.counts"));
  REQUIRE(b.has("lbfgs.counts"));
  for (const std::string entry : {"lbfgs.s", "lbfgs.y", "lbfgs.g"}) {
    CAPTURE(entry);
    CHECK(a.get<T>(entry) == b.get<T>(entry));
  }
  CHECK(a.get<double>("lbfgs.scalars") == b.get<double>("lbfgs.scalars"));
  CHECK(a.get<double>("lbfgs.rho") == b.get<double>("lbfgs.rho"));
  CHECK(a.get<std::int64_t>("lbfgs.counts") == b.get<std::int64_t>("lbfgs.counts"));
}

// What a step reports, diagnostics included, in a form that compares bit for bit.
std::vector<double> step_record(const LoggedStep& s) {
  std::vector<double> r{static_cast<double>(s.step), s.loss, s.lr};
  r.insert(r.end(), s.term_mse.begin(), s.term_mse.end());
  if (const auto& d = s.diagnostics) {
    r.insert(r.end(), {d->snr, d->phi, d->snr_adam, d->phi_rba, d->phi_res, d->transition ? 1.0 : 0.0});
    r.insert(r.end(), d->layer_snr.begin(), d->layer_snr.end());
  }
  return r;
}

// The heap in one of two states 16 bytes apart: many small blocks held, so that the next buffers are carved from
// fresh memory in the order they are asked for, after one block of 32 or 48 bytes. A resumed model built in each
// state gets its buffers at other alignments than the uninterrupted one (as a resumed process does), and a run's
// bits must not depend on where its buffers are.
struct HeapShift {
  std::vector<std::unique_ptr<char[]>> blocks;
  explicit HeapShift(bool odd) {
    for (std::size_t size = 8; size <= 1024; size += 16)
      for (int i = 0; i < 32; ++i) blocks.emplace_back(new char[size]);
    blocks.emplace_back(new char[odd ? 40 : 24]);
  }
};

// Restores OpenMP's thread count when a test that sets it ends.
struct ThreadCountGuard {
  int threads = omp_get_max_threads();
  ~ThreadCountGuard() { omp_set_num_threads(threads); }
};

// A measured run small enough for CI whose 16 SNR batches hold 16 or 64 points each: with one point per batch, as
// in the runs above, a batch's sums add nothing and any summation order gives the same bits.
Json measured_config(bool per_sample, long lbfgs_from, long collocation = 256) {
  return Json{{"net", {{"depth", 2}, {"width", 8}, {"hard_bc", false}}},
              {"points", {{"collocation", collocation}, {"boundary", 16}}},
              {"loss", {{"rba", {{"enabled", true}}}}},
              {"optim", {{"lbfgs_from", lbfgs_from}}},
              {"diagnostics", {{"enabled", true}, {"snr_batches", 16}, {"per_sample", per_sample}}},
              {"train", {{"seed", 5}}}};
}

// Trains `config` for `iters` steps uninterrupted and, from each stop k, a fresh model restored from the state at
// k (in both heap states): every step after k must report the same loss and diagnostics, and the final state must
// be the same.
template <class T>
void check_resumes(const Json& config, long iters, const std::vector<long>& stops) {
  const std::string precision = sizeof(T) == 4 ? "f32" : "f64";
  CAPTURE(precision);
  CAPTURE(omp_get_max_threads());
  Model<T> whole("helmholtz", config, "quick");
  std::map<long, Checkpoint> at;
  std::map<long, std::vector<double>> reported;
  long qn_from = iters;  // the first quasi-Newton step (0-based) of the uninterrupted run
  while (whole.steps_done() < iters) {
    if (std::find(stops.begin(), stops.end(), whole.steps_done()) != stops.end()) at[whole.steps_done()] = whole.checkpoint();
    const LoggedStep s = whole.step();
    reported[s.step] = step_record(s);
    if (s.lbfgs && qn_from == iters) qn_from = s.step - 1;  // s.step counts the steps done
  }
  REQUIRE(at.size() == stops.size());
  const Checkpoint end = whole.checkpoint();
  const long every = config.at("diagnostics").value("every", 0L);
  for (const auto& [k, state] : at)
    for (const bool odd : {false, true}) {
      CAPTURE(k);
      CAPTURE(odd);
      const HeapShift shift(odd);
      Model<T> resumed("helmholtz", config, "quick");
      resumed.restore(state);
      long measured = 0, due = 0;  // measurements seen, and those the cadence asks for before L-BFGS takes over
      for (long m = k; m < qn_from; ++m) due += diagnostics_due(m, every) ? 1 : 0;
      while (resumed.steps_done() < iters) {
        const LoggedStep s = resumed.step();
        CAPTURE(s.step);
        CHECK(step_record(s) == reported[s.step]);
        measured += s.diagnostics ? 1 : 0;
      }
      CHECK(measured == due);
      check_same_state<T>(end, resumed.checkpoint());
    }
}
}  // namespace

// The paper's cadence measures at steps 0, 10, 20, ... below 300, then every 100; a resume lands before (9, 299),
// at (10, 300) and after (11, 301) a measurement, and inside L-BFGS (31, 318). Batch and per-sample SNR, RBA on,
// L-BFGS after Adam, float32 and float64, 1 and 2 threads.
TEST_CASE("train: resume with diagnostics measured is bit-identical, 1 and 2 threads, f32 and f64") {
  const ThreadCountGuard guard;
  SUBCASE("below step 300, where the cadence is every 10 steps") {
    omp_set_num_threads(1);
    for (const bool per_sample : {false, true}) {
      CAPTURE(per_sample);
      check_resumes<double>(measured_config(per_sample, 28), 36, {9, 10, 11, 20, 31});
      check_resumes<float>(measured_config(!per_sample, 28), 36, {9, 10, 11, 20, 31});
    }
    // 1,024 points: enough jet entries per layer (8,192) for the kernels' parallel loops to use both threads.
    // Few steps: on a busy machine every parallel region waits for a core.
    omp_set_num_threads(2);
    check_resumes<double>(measured_config(true, 12, 1024), 16, {10, 11, 13});
    check_resumes<float>(measured_config(false, 12, 1024), 16, {10, 11, 13});
  }
  SUBCASE("past step 300, where the cadence is every 100 steps") {
    check_resumes<double>(measured_config(false, 310), 320, {299, 300, 301, 318});
  }
}

namespace {
// optim.switch = "phase" under a phase rule that confirms total diffusion at the first measurement whose SNR is
// not below the lowest before it (every SNR counts as below 1e9, window and hold 1), measured every step; Adam's
// rate 0.05 makes the SNR bounce within the first dozen steps. `cap` is optim.lbfgs_from.
Json phase_switch_config(long cap) {
  Json c = measured_config(false, cap);
  c["optim"]["switch"] = "phase";
  c["optim"]["lr"] = 0.05;
  c["diagnostics"]["every"] = 1;
  c["diagnostics"]["phase"] = {{"window", 1}, {"hold", 1}, {"diffusion_below", 1e9}, {"total_above", 1e-9}, {"total_rise", 1.0}};
  return c;
}

struct Handover {
  long confirmed = -1, first_qn = -1, last_adam = -1;  // in steps done
};
Handover handover(const Json& config, long iters) {
  Model<double> m("helmholtz", config, "quick");
  Handover h;
  while (m.steps_done() < iters) {
    const LoggedStep s = m.step();
    if (s.diagnostics && s.diagnostics->phase == "total_diffusion" && h.confirmed < 0) h.confirmed = s.step;
    if (s.lbfgs && h.first_qn < 0) h.first_qn = s.step;
    if (!s.lbfgs) h.last_adam = s.step;
  }
  return h;
}
}  // namespace

TEST_CASE("train: optim.switch=phase hands over to quasi-Newton at the step after total diffusion is confirmed, resumes bit-identically") {
  const ThreadCountGuard guard;
  omp_set_num_threads(1);
  const Handover phase = handover(phase_switch_config(-1), 40);
  REQUIRE(phase.confirmed > 0);
  MESSAGE("total diffusion confirmed at step " << phase.confirmed);
  CHECK(phase.first_qn == phase.confirmed + 1);  // the very next step, and no Adam step after it
  CHECK(phase.last_adam == phase.confirmed);
  Json by_step = phase_switch_config(-1);  // the same detector with optim.switch = "step": Adam throughout
  by_step["optim"]["switch"] = "step";
  CHECK(handover(by_step, phase.confirmed + 3).first_qn == -1);
  Json never = phase_switch_config(6);  // a rule that never confirms: optim.lbfgs_from still caps the switch
  never["diagnostics"]["phase"]["total_above"] = 1e9;
  const Handover capped = handover(never, 10);
  CHECK(capped.confirmed == -1);
  CHECK(capped.first_qn == 7);  // step 6 (0-based), the 7th
  // Stops before, at and after the confirmation and inside quasi-Newton: the resumed run switches at the same step.
  const long c = phase.confirmed;
  check_resumes<double>(phase_switch_config(-1), c + 6, {c - 1, c, c + 1, c + 3});
  Json off = phase_switch_config(-1);  // without measurements the detector never speaks: refused up front
  off["diagnostics"]["enabled"] = false;
  std::string refused;
  try {
    Model<double>("helmholtz", off, "quick");
  } catch (const Error& e) {
    refused = e.what();
  }
  CHECK(refused.find("optim.switch=phase waits for the phase detector") != std::string::npos);
}

namespace {
std::vector<Json> metrics_without_times(const std::string& run) {
  std::vector<Json> out;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line);
    j.erase("elapsed");
    out.push_back(j);
  }
  return out;
}
}  // namespace

// The driver: diagnostics (SNR, compression statistics) and the error logged to metrics.jsonl. A run stopped at
// 9 ends with a line that is on no cadence, one stopped at 11 with a measured line, one stopped at 20 with a
// logged one; each line carries the end-of-run rel_l2, which the resume must take out again (off the cadence of
// 8), so the stopped and resumed run's metrics and state equal the uninterrupted run's.
TEST_CASE("train: a resumed run's metrics.jsonl equals an uninterrupted run's, diagnostics and evaluations included") {
  for (const long stop : {9L, 11L, 20L}) {
    CAPTURE(stop);
    TempDir dir("resume-metrics");
    TrainArgs base;
    base.problem = "helmholtz";
    base.preset = "quick";
    base.iters = 36;
    base.iters_given = true;
    base.quiet = true;
    base.sets = {"net.depth=2", "net.width=8", "net.hard_bc=false", "points.collocation=256", "points.boundary=16",
                 "optim.lbfgs_from=28", "diagnostics.snr_batches=16", "diagnostics.compression_every=5",
                 "train.log_every=4", "train.eval_every=8"};
    TrainArgs whole = base, part = base;
    whole.out = (dir.path / "whole").string();
    part.out = (dir.path / "part").string();
    part.iters = stop;
    REQUIRE(run_train(whole) == 0);
    REQUIRE(run_train(part) == 0);
    const std::vector<Json> before = metrics_without_times(part.out);
    REQUIRE(!before.empty());
    CHECK(before.back().at("step") == stop);
    CHECK(before.back().contains("rel_l2"));  // the end-of-run evaluation
    TrainArgs resume;
    resume.resume = part.out;
    resume.iters = 36;
    resume.iters_given = true;
    resume.quiet = true;
    REQUIRE(run_train(resume) == 0);
    CHECK(metrics_without_times(whole.out) == metrics_without_times(part.out));
    check_same_state<double>(Checkpoint::read(whole.out + "/checkpoint", "helmholtz"),
                             Checkpoint::read(part.out + "/checkpoint", "helmholtz"));
  }
}

namespace {
// Per step of a quasi-Newton run (RBA on, Adam to step 8): whether the step changed the RBA multipliers, and the
// memory's size after it (L-BFGS pairs, or the dense method's updates since H was the identity).
struct RefreshTrace {
  std::vector<long> lambda_changed;  // 0-based steps
  std::vector<std::int64_t> memory;  // per step from the first quasi-Newton one
  std::vector<double> params;
  std::vector<long> evals;  // objective evaluations per quasi-Newton step
};
RefreshTrace refresh_trace(const std::string& method, long every, const std::string& memory, bool rba, long iters) {
  Json c = measured_config(false, 8);
  c["diagnostics"]["enabled"] = false;
  c["loss"]["rba"]["enabled"] = rba;
  c["optim"]["quasi_newton"] = method;
  c["optim"]["qn_refresh"] = {{"every", every}, {"memory", memory}};
  Model<double> m("helmholtz", c, "quick");
  RefreshTrace trace;
  std::vector<double> lambda = m.checkpoint().get<double>("term.residual.lambda");
  while (m.steps_done() < iters) {
    const LoggedStep s = m.step();
    const Checkpoint state = m.checkpoint();
    const std::vector<double> now = state.get<double>("term.residual.lambda");
    if (now != lambda) trace.lambda_changed.push_back(s.step - 1);
    lambda = now;
    const char* counts = method == "lbfgs" ? "lbfgs.counts" : "dense_qn.counts";
    if (s.lbfgs) trace.memory.push_back(state.get<std::int64_t>(counts)[0]);
    if (s.lbfgs) trace.evals.push_back(s.evals);
    trace.params = state.get<double>("params");
  }
  return trace;
}
}  // namespace

// optim.qn_refresh: the multipliers stay frozen within the quasi-Newton phase unless a refresh is due (every k
// steps, counted from step 0, from the second quasi-Newton step on); a refresh keeps or resets the memory; with
// nothing to refresh (RBA off, points kept) it changes no bit of the run; a resume across refreshes is exact.
TEST_CASE("train: optim.qn_refresh updates the RBA multipliers between quasi-Newton iterations, resumes bit-identically") {
  const ThreadCountGuard guard;
  omp_set_num_threads(1);
  const std::vector<long> adam{0, 1, 2, 3, 4, 5, 6, 7};
  for (const std::string method : {"lbfgs", "ssbroyden"}) {
    CAPTURE(method);
    CHECK(refresh_trace(method, 0, "keep", true, 20).lambda_changed == adam);  // frozen after the switch
    std::vector<long> refreshed = adam;
    refreshed.insert(refreshed.end(), {12, 16});  // not 8: the first iteration
    const RefreshTrace keep = refresh_trace(method, 4, "keep", true, 20);
    CHECK(keep.lambda_changed == refreshed);
    const RefreshTrace reset = refresh_trace(method, 4, "reset", true, 20);
    CHECK(reset.lambda_changed == refreshed);
    CAPTURE(keep.memory);
    CAPTURE(reset.memory);
    REQUIRE(keep.memory.size() == 12);  // steps 8 .. 19
    CHECK(keep.memory[4] == keep.memory[3] + 1);  // step 12: one more pair or update on the kept memory
    CHECK(reset.memory[4] <= 1);                   // restarted: at most the pair of this iteration
    CHECK(reset.memory[8] <= 1);                   // step 16
    // RBA off and the points kept: a refresh only drops the cached f and g, which are recomputed (one more
    // evaluation at steps 12 and 16) to the same bits.
    const RefreshTrace idle = refresh_trace(method, 4, "keep", false, 20), fixed = refresh_trace(method, 0, "keep", false, 20);
    CHECK(idle.params == fixed.params);
    REQUIRE(idle.evals.size() == fixed.evals.size());
    for (std::size_t i = 0; i < idle.evals.size(); ++i) CHECK(idle.evals[i] == fixed.evals[i] + (i == 4 || i == 8 ? 1 : 0));
  }
  Json c = measured_config(false, 8);
  c["optim"]["qn_refresh"] = {{"every", 4}, {"points", "redraw"}};
  // Redrawn points' multipliers restart at |r| / max|r| (largest exactly 1), not at eta |r| / max|r| from zero.
  Model<double> redrawn("helmholtz", c, "quick");
  while (redrawn.steps_done() < 13) redrawn.step();  // the refresh at step 12 redrew the points
  const std::vector<double> lambda = redrawn.checkpoint().get<double>("term.residual.lambda");
  CHECK(*std::max_element(lambda.begin(), lambda.end()) == 1.0);
  check_resumes<double>(c, 20, {8, 9, 12, 13});
}
