// The jetpinn driver. Subcommands: demo (input derivatives through the jets beside finite differences).
// Errors: one line on stderr naming the problem, exit status 1; bad command-line usage exits 2 (CLI11).
#include <CLI/CLI.hpp>
#include <iostream>

#include "derivative_demo.h"
#include "check.h"

int main(int argc, char** argv) {
  CLI::App app{"jetpinn: physics-informed neural networks with forward Taylor jets"};
  app.require_subcommand(1);

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
    if (*demo_cmd) {
      const double worst = jetpinn::run_derivative_demo(demo, std::cout);
      if (!(worst < 1e-5)) {
        std::cerr << "jetpinn: jets and finite differences disagree (largest relative difference " << worst << ")\n";
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "jetpinn: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
