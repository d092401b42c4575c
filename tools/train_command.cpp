// `jetpinn train` (see train_command.h). The loop: step, log every train.log_every steps (metrics.jsonl and
// the progress line), evaluate the relative L2 error every train.eval_every steps, checkpoint every
// train.checkpoint_every steps and at the end. A NaN/Inf stops the run before it updates anything; the last
// checkpoint on disk is the last good state (train.on_nan=rollback reloads it and halves optim.lr instead).
// SIGINT/SIGTERM stop after the current step with a checkpoint (exit 128 + signal); a resume first drops what a
// crash left behind (temporary files, metrics lines past the checkpoint) and what only the end of the previous
// run added to the metrics (see drop_end_of_run_extras).
#include "train_command.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "atomic_file.h"
#include "config.h"
#include "dry_run.h"
#include "model.h"
#include "npy.h"
#include "resource_check.h"
#include "run_diagnostics.h"
#include "run_files.h"
#include "run_setup.h"
#include "stop_signal.h"

namespace jetpinn {

namespace {

namespace fs = std::filesystem;

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

std::string machine_description() {
  std::string model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  std::ostringstream os;
  os << model << ", " << omp_get_num_procs() << " cores, host " << host;
  return os.str();
}

// The last step of a run gets a metrics line even off the logging cadence, with its relative L2 error even off
// the evaluation cadence (the run's final state). An uninterrupted run has neither at that step, so a resume
// takes them out of the line of the step it continues from: the line goes when it was written only for the
// end, and an off-cadence rel_l2 goes from a line that stays (logged, evaluated, or carrying diagnostics).
// Then a stopped and resumed run's metrics equal an uninterrupted run's (apart from elapsed times).
void drop_end_of_run_extras(const std::string& path, long step, long log_every, long eval_every) {
  std::ifstream in(path);
  if (!in.good()) return;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  in.close();
  if (lines.empty()) return;
  Json last = Json::parse(lines.back(), nullptr, false);
  if (!last.is_object() || !last.contains("step") || !last["step"].is_number_integer() || last["step"].get<long>() != step)
    return;
  const bool evaluated = eval_every > 0 && step % eval_every == 0;
  const bool cadence = step % log_every == 0 || evaluated || last.contains("snr") || last.contains("saturation");
  const bool extra_l2 = !evaluated && last.contains("rel_l2");
  if (cadence && !extra_l2) return;
  if (cadence) {
    last.erase("rel_l2");
    lines.back() = last.dump();
  } else {
    lines.pop_back();
  }
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  write_text_atomic(path, text);
}

template <class T>
int train_typed(const ProblemInfo& info, const Json& cfg, const std::string& dir, const Checkpoint* resume, bool quiet) {
  // The library's Model builds the network, the terms and the trainer; this loop adds the run folder around it.
  Model<T> model = resume ? Model<T>::open(info, cfg, *resume) : Model<T>(info, cfg);
  // The run folder once the model is built: a bad weight file (net.init_from) or problem leaves nothing behind.
  std::error_code ec;
  fs::create_directories(dir, ec);
  JETPINN_CHECK(!ec && fs::is_directory(dir), "cannot create the run folder " << dir << ": " << ec.message());
  write_text_atomic(dir + "/config.json", cfg.dump(2) + "\n");
  Trainer<T>& trainer = model.trainer();
  if (resume) {
    remove_stale_temporaries(dir);
    remove_stale_temporaries(dir + "/snapshots");
    truncate_metrics(dir + "/metrics.jsonl", trainer.steps_done());
    drop_end_of_run_extras(dir + "/metrics.jsonl", trainer.steps_done(), cfg.at("train").at("log_every"),
                           cfg.at("train").at("eval_every"));
  }
  RunDiagnostics<T> diag(cfg, dir, trainer, model.net());
  const Reference& ref = model.reference();

  const Json& tr = cfg.at("train");
  const long iters = tr.at("iters"), log_every = tr.at("log_every"), eval_every = tr.at("eval_every"),
             ckpt_every = tr.at("checkpoint_every");
  const std::string ckpt_path = dir + "/checkpoint";
  auto save = [&]() { model.checkpoint().write(ckpt_path); };  // the configuration is in config.json
  std::ofstream metrics(dir + "/metrics.jsonl", resume ? std::ios::app : std::ios::trunc);
  JETPINN_CHECK(metrics.good(), "cannot write " << dir << "/metrics.jsonl");

  const long start = trainer.steps_done();
  JETPINN_CHECK(start <= iters, "the checkpoint is at step " << start << ", past --iters " << iters);
  double best = INFINITY, last_l2 = NAN;
  const bool tty = ::isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  auto evaluate = [&](Json& line) {
    last_l2 = model.relative_l2();
    best = std::min(best, last_l2);
    line["rel_l2"] = last_l2;
  };
  if (start == 0 && eval_every > 0) {
    Json line{{"step", 0}, {"elapsed", 0.0}};
    evaluate(line);
    metrics << line.dump() << "\n";
  }
  const double max_seconds = tr.at("max_seconds");  // a wall-time budget: the run ends at the first step past it
  const bool rollback = tr.at("on_nan") == "rollback";
  const long max_rollbacks = tr.at("max_rollbacks");
  long rollbacks = 0;
  double lr = cfg.at("optim").at("lr");
  if (rollback && !fs::exists(ckpt_path)) save();  // something to roll back to before the first checkpoint
  install_stop_handlers();
  long last = iters;
  std::string finished;  // why the quasi-Newton method ended the run early (StepStats::finished), or empty
  for (long step = start; step < iters; ++step) {
    StepStats s = trainer.step();
    if (!s.bad.empty()) {
      if (tty && !quiet) std::cerr << "\n";
      if (!rollback || rollbacks >= max_rollbacks) {
        std::cerr << "jetpinn: training stopped at step " << step << ": " << s.bad;
        if (rollbacks > 0) std::cerr << "; gave up after " << rollbacks << " rollbacks";
        std::cerr << "; the last good checkpoint is " << ckpt_path << " (resume with --resume " << dir
                  << ", perhaps with a lower optim.lr)\n";
        return 1;
      }
      // Back to the last checkpoint at half the rate; config.json records the rate so a resume keeps it.
      model.load(ckpt_path);
      lr *= 0.5;
      model.set_lr(lr);
      Json changed = cfg;
      changed["optim"]["lr"] = lr;
      write_text_atomic(dir + "/config.json", changed.dump(2) + "\n");
      metrics.close();
      truncate_metrics(dir + "/metrics.jsonl", trainer.steps_done());
      metrics.open(dir + "/metrics.jsonl", std::ios::app);
      ++rollbacks;
      std::cerr << "jetpinn: step " << step << ": " << s.bad << "; rolled back to step " << trainer.steps_done()
                << " and halved optim.lr to " << lr << " (rollback " << rollbacks << " of " << max_rollbacks << ")\n";
      step = trainer.steps_done() - 1;
      continue;
    }
    const long done = step + 1;
    const bool out_of_time = max_seconds > 0 && elapsed() >= max_seconds;
    if (out_of_time || !s.finished.empty()) last = done;
    const bool log = done % log_every == 0 || done == last;
    const bool eval = eval_every > 0 && (done % eval_every == 0 || done == last);
    Json line{{"step", done}, {"loss", s.loss}, {"lr", s.lr}, {"elapsed", elapsed()}};
    const bool measured = diag.record(done, s, line);
    diag.snapshot(done, done == last);
    if (log || eval || measured) {
      for (std::size_t t = 0; t < s.term_mse.size(); ++t) line["loss_" + trainer.terms()[t].name] = s.term_mse[t];
      if (s.lbfgs) line["lbfgs_evals"] = s.evals;
      if (eval) evaluate(line);
      metrics << line.dump() << "\n";
      metrics.flush();
      if (!quiet && (log || eval)) {
        const double rate = static_cast<double>(done - start) / std::max(elapsed(), 1e-9);
        char buf[256];
        std::snprintf(buf, sizeof buf, "step %ld/%ld  %.1f steps/s  loss %.3e  rel_l2 %.3e  lr %.2e%s  ETA %s", done,
                      iters, rate, s.loss, last_l2, s.lr, diag.progress().c_str(),
                      format_duration(static_cast<double>(iters - done) / rate).c_str());
        std::cerr << (tty ? "\r" : "") << buf << (tty ? "   " : "\n") << std::flush;
      }
    }
    const bool saved = (ckpt_every > 0 && done % ckpt_every == 0) || done == last;
    if (saved) save();
    if (const int sig = stop_signal(); sig != 0 && done < last) {
      if (!saved) save();
      if (tty && !quiet) std::cerr << "\n";
      std::cerr << "jetpinn: stopped by " << stop_signal_name(sig) << " after step " << done << "; checkpoint written to "
                << ckpt_path << "; resume with: jetpinn train --resume " << dir << "\n";
      return 128 + sig;
    }
    if (!s.finished.empty()) {
      finished = s.finished;
      if (tty && !quiet) std::cerr << "\n";
      std::cerr << "jetpinn: step " << done << ": the quasi-Newton method cannot move (" << finished
                << "), and every later step would repeat this one, so the run ends here\n";
      break;
    }
    if (out_of_time) break;
  }
  if (tty && !quiet) std::cerr << "\n";
  if (start == iters) save();

  RowMat<double> pred;
  const double final_l2 = model.relative_l2(&pred);
  best = std::min(best, final_l2);
  std::vector<std::size_t> shape;
  for (const auto& a : ref.axes) shape.push_back(a.size());
  write_npy(dir + "/prediction_" + ref.metric + ".npy", shape, pred.data());
  const double wall = elapsed();
  Json summary{{"problem", info.name},
               {"preset", cfg.at("preset")},
               {"steps", last},
               {"steps_this_run", last - start},
               {"finished_early", finished},
               {"rel_l2", final_l2},
               {"rel_l2_best", best},
               {"metric", ref.metric},
               {"wall_seconds", wall},
               {"steps_per_second", static_cast<double>(last - start) / std::max(wall, 1e-9)},
               {"precision", cfg.at("train").at("precision")},
               {"backend", cfg.at("train").at("backend")},
               {"threads", omp_get_max_threads()},
               {"machine", machine_description()},
               {"parameters", model.net().params().size()}};
  diag.summarize(summary);
  diag.write_fields(ref, pred);
  write_text_atomic(dir + "/summary.json", summary.dump(2) + "\n");
  if (!quiet)
    std::cout << info.name << (cfg.at("preset") == "" ? "" : " (" + cfg.at("preset").get<std::string>() + ")") << ": "
              << last << " steps in " << format_duration(wall) << ", relative L2 error " << final_l2 << " (best "
              << best << "); run folder " << dir << "\n";
  return 0;
}

}  // namespace

int run_train(const TrainArgs& a) {
  Json cfg;
  const Checkpoint* resume = nullptr;
  Checkpoint ck;
  std::string dir = a.out;
  if (!a.resume.empty()) {
    JETPINN_CHECK(a.preset.empty() && a.config_file.empty() && a.sets.empty() && !a.seed_given && a.precision.empty(),
                  "--resume continues a run as configured; only --iters, --threads and --out may be given with it");
    dir = a.resume;
    cfg = load_json_file(dir + "/config.json");
    JETPINN_CHECK(cfg.contains("problem") && cfg["problem"].is_string(), dir << "/config.json names no problem");
    if (!a.problem.empty())
      JETPINN_CHECK(a.problem == cfg["problem"], "--resume " << dir << " is a run of problem '"
                                                             << cfg["problem"].get<std::string>() << "', not '" << a.problem << "'");
    const ProblemInfo& info = find_problem(cfg["problem"]);
    Json checked = resolve_config(info, "", &cfg, {});  // re-validate what is on disk
    cfg = checked;
    ck = Checkpoint::read(dir + "/checkpoint", info.name);
    const std::string prec = ck.get_string("precision");
    JETPINN_CHECK(prec == cfg.at("train").at("precision"), "checkpoint precision " << prec << " does not match config.json");
    resume = &ck;
  } else {
    JETPINN_CHECK(!a.problem.empty(), "train needs a PROBLEM (see `jetpinn list`)");
    const ProblemInfo& info = find_problem(a.problem);
    Json file;
    if (!a.config_file.empty()) file = load_json_file(a.config_file);
    std::vector<std::string> sets = a.sets;
    if (a.seed_given) sets.push_back("train.seed=" + std::to_string(a.seed));
    // --precision tf32 / 3xtf32: float32 storage with (error-compensated) TF32 tensor-core GEMMs on the device.
    if (a.precision == "tf32" || a.precision == "3xtf32") {
      sets.push_back("train.precision=\"f32\"");
      sets.push_back("train.gemm=\"" + a.precision + "\"");
    } else if (!a.precision.empty()) {
      sets.push_back("train.precision=\"" + a.precision + "\"");
    }
    if (!a.backend.empty()) sets.push_back("train.backend=\"" + a.backend + "\"");
    cfg = resolve_config(info, a.preset, a.config_file.empty() ? nullptr : &file, sets);
    if (dir.empty()) dir = "runs/" + a.problem + (a.preset.empty() ? "" : "-" + a.preset);
  }
  if (a.iters_given) cfg["train"]["iters"] = a.iters;
  if (a.threads_given) cfg["train"]["threads"] = a.threads;
  validate_config(cfg);
  check_backend(cfg.at("train").at("backend"));  // before the run folder exists
  check_training_memory(find_problem(cfg.at("problem")), cfg);  // refuse before the run folder or any allocation
  check_dense_quasi_newton(find_problem(cfg.at("problem")), cfg);
  const int threads = cfg.at("train").at("threads");
  if (threads > 0) omp_set_num_threads(threads);
  if (a.dry_run)  // after every check the run makes, before the run folder
    return run_dry(find_problem(cfg.at("problem")), cfg, resume ? ck.get<std::int64_t>("step").at(0) : 0, std::cout);

  const ProblemInfo& info = find_problem(cfg.at("problem"));
  if (cfg.at("train").at("precision") == "f32") return train_typed<float>(info, cfg, dir, resume, a.quiet);
  return train_typed<double>(info, cfg, dir, resume, a.quiet);
}

}  // namespace jetpinn
