// The jetpinn driver: list, train, eval, export, reference, report, demo. driver_main() is the whole command line, so a program
// that registers its own problems (see tests/examples/poisson.cpp) gets the same driver in one line.
// Errors: one line on stderr naming the problem, exit status 1; bad command-line usage exits 2 (CLI11). The line
// carries no source location unless --debug or JETPINN_DEBUG=1 asks for it.
#include <cxxabi.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <typeinfo>

#include "check.h"
#include "derivative_demo.h"
#include "driver.h"
#include "eval_command.h"
#include "list_command.h"
#include "report_command.h"
#include "train_command.h"

namespace {

bool debug_from_environment() {
  const char* v = std::getenv("JETPINN_DEBUG");
  return v && *v && std::strcmp(v, "0") != 0;
}

// The line printed for an exception that reached the driver: its message; in debug mode also where it was
// thrown (a jetpinn::Error's check) or, for any other exception, its type.
std::string error_line(const std::exception& e, bool debug) {
  std::string line = std::string("jetpinn: ") + e.what();
  if (!debug) return line;
  if (const auto* je = dynamic_cast<const jetpinn::Error*>(&e); je && je->file()) return line + " (at " + je->location() + ")";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status), std::free);
  return line + " (" + (status == 0 && name ? name.get() : typeid(e).name()) + ")";
}

}  // namespace

int jetpinn::driver_main(int argc, char** argv) {
  CLI::App app{"jetpinn: physics-informed neural networks with forward Taylor jets"};
  app.require_subcommand(1);
  app.fallthrough();  // --debug also after the subcommand (subcommands inherit this)
  bool debug = debug_from_environment();
  app.add_flag("--debug", debug, "error lines name the source location (also JETPINN_DEBUG=1)");

  jetpinn::ListArgs ls;
  CLI::App* list_cmd = app.add_subcommand(
      "list", "problems, presets, and every option with its default, description and allowed values");
  list_cmd->add_option("problem", ls.problem, "show this problem's resolved defaults");
  list_cmd->add_option("--preset", ls.preset, "... with this preset applied, its changes marked");

  jetpinn::TrainArgs tr;
  CLI::App* train_cmd = app.add_subcommand("train", "train a problem; writes a run folder");
  train_cmd->add_option("problem", tr.problem, "problem name (see list)");
  train_cmd->add_option("--preset", tr.preset, "named preset of the problem");
  train_cmd->add_option("--config", tr.config_file, "JSON file of settings (same keys as --set)");
  train_cmd->add_option("--set", tr.sets, "key=value, e.g. net.width=64 (repeatable)");
  CLI::Option* iters_opt = train_cmd->add_option("--iters", tr.iters, "total steps (with --resume: continue up to this step)");
  CLI::Option* seed_opt = train_cmd->add_option("--seed", tr.seed, "seed of weights and points");
  train_cmd->add_option("--precision", tr.precision,
                        "f64, f32, or (--backend cuda) tf32 / 3xtf32: float32 with TF32 tensor-core GEMMs");
  train_cmd->add_option("--backend", tr.backend, "cpu or cuda");
  CLI::Option* threads_opt = train_cmd->add_option("--threads", tr.threads, "CPU threads (0: all cores)");
  train_cmd->add_option("--out", tr.out, "run folder (default runs/PROBLEM-PRESET)");
  train_cmd->add_option("--resume", tr.resume, "continue the run in this folder from its checkpoint");
  train_cmd->add_flag("--quiet", tr.quiet, "no progress line");
  train_cmd->add_flag("--dry-run", tr.dry_run,
                      "print the resolved configuration, network, points, memory and a projected wall time from a "
                      "few timed steps; write nothing");

  jetpinn::EvalArgs ev;
  CLI::App* eval_cmd = app.add_subcommand("eval", "evaluate a trained run and its derivatives at points from a CSV file");
  eval_cmd->add_option("--run", ev.run, "run folder")->required();
  eval_cmd->add_option("--points", ev.points, "CSV with a header naming the inputs")->required();
  eval_cmd->add_option("--derivs", ev.derivs, "quantities, e.g. u,u_x,u_xx (default: the outputs)");
  eval_cmd->add_option("--out", ev.out, "output CSV (default: standard output)");

  jetpinn::ExportArgs ex;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "write a trained run's weights to an .npz by name (layer0.W out x in, layer0.b, ...: PyTorch's "
                "nn.Linear layout); --set net.init_from=FILE.npz starts a run from them");
  export_cmd->add_option("--run", ex.run, "run folder")->required();
  export_cmd->add_option("--out", ex.out, "output .npz")->required();

  jetpinn::ReferenceArgs rf;
  CLI::App* ref_cmd = app.add_subcommand(
      "reference",
      "write a problem's reference solution. One field: FILE.npy shaped by the grid axes in order (time first for\n"
      "allen-cahn and burgers: [t, x]; [x, y] otherwise), with the axes in FILE_grid.npz. Several fields (cavity):\n"
      "FILE.npz with one array per field and the axes as axis_<name>.\n"
      "Each reference's error, as the test suite measures it (jetpinn_tests -tc=FILTER, in build/tests):\n"
      "  helmholtz   analytic: exact up to floating-point rounding.\n"
      "  burgers     Cole-Hopf by 128-node Gauss-Hermite quadrature: 256 nodes change it by 6.8e-15 at most, near\n"
      "              the front (FILTER '*burgers: quadrature*').\n"
      "  allen-cahn  Fourier pseudo-spectral + ETDRK4, 4096 modes, dt = 1/2000: 8192 modes change it by 2.7e-12 at\n"
      "              most, dt/2 by 6.3e-12 (FILTER '*allen-cahn: mode*,*allen-cahn: halving*').\n"
      "  cavity      stream function-vorticity with the lid-corner flow subtracted, Richardson-extrapolated from\n"
      "              513^2 and 257^2: relative L2 error of (u, v) on the 129^2 grid 1.2e-5 at re 100, 1.1e-4 at\n"
      "              re 1000, its difference from the 1025^2 extrapolation (FILTER '*cavity*1025*' --no-skip;\n"
      "              computed on first use in ~20 s on one core, then read from the cache, $JETPINN_CACHE or\n"
      "              ~/.cache/jetpinn).");
  ref_cmd->add_option("problem", rf.problem, "problem name")->required();
  ref_cmd->add_option("--preset", rf.preset, "named preset (parameters such as Re or a1, a2)");
  ref_cmd->add_option("--set", rf.sets, "key=value (repeatable)");
  ref_cmd->add_option("--out", rf.out, "output .npy or .npz")->required();

  jetpinn::ReportArgs rp;
  CLI::App* report_cmd = app.add_subcommand(
      "report", "paper-style figures (PNG) and index.html of run folders; several runs overlay");
  report_cmd->add_option("runs", rp.runs, "run folders")->required();
  report_cmd->add_option("--out", rp.out, "output folder (default: FIRST_RUN/report)");
  report_cmd->add_option("--labels", rp.labels, "comma-separated legend names, one per run");

  jetpinn::DemoOptions demo;
  CLI::App* demo_cmd = app.add_subcommand("demo", "print u and its input derivatives beside finite differences");
  demo_cmd->add_option("--depth", demo.depth, "hidden layers")->check(CLI::Range(1, 64))->capture_default_str();
  demo_cmd->add_option("--width", demo.width, "hidden width")->check(CLI::Range(1, 4096))->capture_default_str();
  demo_cmd->add_option("--points", demo.points, "number of points")->check(CLI::Range(1, 1000))->capture_default_str();
  demo_cmd->add_option("--seed", demo.seed, "seed of weights and points")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*list_cmd) return jetpinn::run_list(ls, std::cout);
    if (*train_cmd) {
      tr.iters_given = iters_opt->count() > 0;
      tr.seed_given = seed_opt->count() > 0;
      tr.threads_given = threads_opt->count() > 0;
      return jetpinn::run_train(tr);
    }
    if (*eval_cmd) return jetpinn::run_eval(ev);
    if (*export_cmd) return jetpinn::run_export(ex);
    if (*ref_cmd) return jetpinn::run_reference(rf);
    if (*report_cmd) return jetpinn::run_report(rp);
    if (*demo_cmd) {
      const double worst = jetpinn::run_derivative_demo(demo, std::cout);
      if (!(worst < 1e-5)) {
        std::cerr << "jetpinn: jets and finite differences disagree (largest relative difference " << worst << ")\n";
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << error_line(e, debug) << "\n";
    return 1;
  }
  return 0;
}
