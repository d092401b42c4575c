// The dry run (see dry_run.h). Timing: a copy of the configuration with diagnostics measured every other step
// (so plain and measurement steps alternate) and, when the run switches to a quasi-Newton method, the switch
// moved to just after the Adam warm-up; the first two steps are discarded (first allocations, first RBA update).
#include "dry_run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "grad_stats.h"
#include "model.h"
#include "resource_check.h"
#include "run_diagnostics.h"

namespace jetpinn {

namespace {

// Timed (measurement, plain) pairs after the two discarded steps: at least MIN_PAIRS, more while less than
// MIN_TIMED_SECONDS have been timed (short steps average over more), at most MAX_PAIRS. A run with a quasi-Newton
// phase times exactly MIN_PAIRS (its switch step is fixed when the model is built).
constexpr int MIN_PAIRS = 3, MAX_PAIRS = 20;
constexpr double MIN_TIMED_SECONDS = 1.0;
constexpr int QN_STEPS = 3;           // timed quasi-Newton steps (line searches vary; the mean is used)
constexpr double GIB = 1024.0 * 1024.0 * 1024.0;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// How many of the steps that make done = start+1 .. iters satisfy `due(done)`.
template <class F>
long count_done(long start, long iters, F due) {
  long n = 0;
  for (long done = start + 1; done <= iters; ++done) n += due(done) ? 1 : 0;
  return n;
}

struct StepTimes {
  double plain = 0, measured = 0, quasi_newton = 0, evaluation = 0, compression = 0, checkpoint = 0, setup = 0;
};

// Prints the network, the loss terms and the memory estimate, then times the steps.
template <class T>
StepTimes describe_and_time(const ProblemInfo& info, const Json& cfg, bool measure, bool quasi_newton, std::ostream& out) {
  Json warm = cfg;
  const long adam_steps = 2 + 2 * MIN_PAIRS;
  warm["diagnostics"]["every"] = 2;  // even steps measured, odd steps plain
  warm["optim"]["lbfgs_from"] = quasi_newton ? adam_steps : -1;
  warm["train"]["iters"] = 2 + 2 * MAX_PAIRS + QN_STEPS;  // every step the timing may take
  StepTimes t;
  auto t0 = std::chrono::steady_clock::now();
  Model<T> model(info, warm);
  Trainer<T>& trainer = model.trainer();
  t.setup = seconds_since(t0);

  const MlpConfig& net = model.net().config();
  out << "network: " << (net.uniform() ? std::to_string(net.hidden_widths().size()) + " x " + std::to_string(net.hidden_widths().front())
                                       : "hidden widths " + Json(net.hidden_widths()).dump())
      << " "
      << cfg.at("net").at("activation").get<std::string>() << (cfg.at("net").at("modified") ? " (modified MLP)" : "")
      << ", " << model.net().params().size() << " parameters\n";
  out << "loss terms: points x jet streams (the streams):\n";
  Index points = 0;
  for (const Term<T>& term : trainer.terms()) {
    out << "  " << term.name << ": " << term.count << " x " << term.streams->size() << " (";
    for (int s = 0; s < term.streams->size(); ++s) {
      const std::string& n = term.streams->stream(s).name;
      out << (s ? ", " : "") << (n.empty() ? "value" : n);
    }
    out << ")\n";
    points += term.count;
  }
  out << "points: " << points << " in all\n";
  const double need = estimate_training_bytes(info, cfg), have = available_memory_bytes();
  char line[160];
  std::snprintf(line, sizeof line, "memory: about %.3g GiB for the tape (estimate)", need / GIB);
  out << line;
  if (have >= 0) {
    std::snprintf(line, sizeof line, "; %.3g GiB available", have / GIB);
    out << line;
  }
  out << "\n" << std::flush;

  auto timed_step = [&] {
    const auto s0 = std::chrono::steady_clock::now();
    const StepStats s = trainer.step();
    JETPINN_CHECK(s.bad.empty(), "the dry run's warm-up step " << s.step << " failed: " << s.bad
                                                               << "; the run would stop there (try a lower optim.lr)");
    return seconds_since(s0);
  };
  timed_step();
  timed_step();
  int pairs = 0;
  for (; pairs < MIN_PAIRS || (!quasi_newton && pairs < MAX_PAIRS && t.measured + t.plain < MIN_TIMED_SECONDS); ++pairs) {
    t.measured += timed_step();
    t.plain += timed_step();
  }
  t.measured /= pairs;
  t.plain /= pairs;
  if (!measure) t.measured = t.plain;
  if (quasi_newton)
    for (int i = 0; i < QN_STEPS; ++i) t.quasi_newton += timed_step() / QN_STEPS;
  if (model.has_reference()) {
    // The first evaluation loads (or computes and caches) the reference; a second is the cost of each one.
    t0 = std::chrono::steady_clock::now();
    model.relative_l2();
    t.setup += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    model.relative_l2();
    t.evaluation = seconds_since(t0);
  }
  // Compression of the hidden layers on the probe set, as the run records it at done == 1; nothing is written.
  RunDiagnostics<T> diag(cfg, "", trainer, model.net());
  Json unused;
  t0 = std::chrono::steady_clock::now();
  diag.record(1, StepStats{}, unused);
  t.compression = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  (void)model.checkpoint();  // built in memory; writing it is not timed
  t.checkpoint = seconds_since(t0);
  return t;
}

}  // namespace

std::string format_duration(double s) {
  char buf[64];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else if (s < 2 * 86400) std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  else std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  return buf;
}

int run_dry(const ProblemInfo& info, const Json& cfg, long start, std::ostream& out) {
  out << "resolved configuration (config.json):\n" << cfg.dump(2) << "\n";
  const Json& tr = cfg.at("train");
  const Json& op = cfg.at("optim");
  const Json& dg = cfg.at("diagnostics");
  const long iters = tr.at("iters"), lbfgs_from = op.at("lbfgs_from"), every = dg.at("every");
  const bool measure = dg.at("enabled");
  const long qn_start = lbfgs_from >= 0 ? std::max(lbfgs_from, start) : iters;  // first quasi-Newton step index
  const bool quasi_newton = qn_start < iters;
  const StepTimes t = tr.at("precision") == "f32" ? describe_and_time<float>(info, cfg, measure, quasi_newton, out)
                                                  : describe_and_time<double>(info, cfg, measure, quasi_newton, out);

  // Steps by kind: Adam steps (measured at the diagnostics cadence, step index s), then quasi-Newton steps.
  const long adam_end = std::min(iters, qn_start);
  long measured = 0;
  if (measure)
    for (long s = start; s < adam_end; ++s) measured += diagnostics_due(s, every) ? 1 : 0;
  const long adam = std::max(0L, adam_end - start), plain = adam - measured, qn = iters - std::max(start, adam_end);
  const long eval_every = tr.at("eval_every"), ckpt_every = tr.at("checkpoint_every");
  const long comp_every = dg.at("compression_every");
  // As train_command.cpp does: an evaluation at step 0 and on the cadence and the last step, then the final one;
  // compression at done == 1 and on its cadence; a checkpoint on its cadence and at the end.
  const long evals = 1 + (eval_every > 0 ? (start == 0 ? 1 : 0) + count_done(start, iters, [&](long d) {
                                            return d % eval_every == 0 || d == iters;
                                          })
                                         : 0);
  const long comps = comp_every > 0 ? count_done(start, iters, [&](long d) { return d == 1 || d % comp_every == 0; }) : 0;
  const long ckpts = 1 + (ckpt_every > 0 ? count_done(start, iters, [&](long d) { return d % ckpt_every == 0 && d != iters; }) : 0);
  const double total = t.setup + plain * t.plain + measured * t.measured + qn * t.quasi_newton + evals * t.evaluation +
                       comps * t.compression + ckpts * t.checkpoint;

  char line[256];
  out << "measured (" << omp_get_max_threads() << " threads, " << tr.at("backend").get<std::string>() << ", "
      << tr.at("precision").get<std::string>() << "):";
  std::snprintf(line, sizeof line, " %.4g s per Adam step", t.plain);
  out << line;
  if (measure) {
    std::snprintf(line, sizeof line, ", %.4g s per diagnostics measurement step", t.measured);
    out << line;
  }
  if (quasi_newton) {
    std::snprintf(line, sizeof line, ", %.4g s per %s step", t.quasi_newton, op.at("quasi_newton").get<std::string>().c_str());
    out << line;
  }
  std::snprintf(line, sizeof line, ", %.4g s per evaluation, %.4g s per compression measure, %.4g s setup\n", t.evaluation,
                t.compression, t.setup);
  out << line;
  out << "projected: steps " << start << " to " << iters << ": " << plain << " Adam + " << measured
      << " measurement + " << qn << " quasi-Newton steps, " << evals << " evaluations, " << comps
      << " compression measures, " << ckpts << " checkpoints: about " << format_duration(total);
  std::snprintf(line, sizeof line, " (%.4g s)", total);
  out << line;
  const double max_seconds = tr.at("max_seconds");
  if (max_seconds > 0 && total > max_seconds) out << ", cut at train.max_seconds = " << format_duration(max_seconds);
  if (op.at("switch") == "phase")  // the detector's step cannot be known before the run
    out << "\noptim.switch=phase: projected with the switch at optim.lbfgs_from (its latest step"
        << (lbfgs_from < 0 ? "; -1: never" : "") << "); total diffusion may bring it sooner";
  out << "\ndry run: nothing written; drop --dry-run to train\n";
  return 0;
}

}  // namespace jetpinn
