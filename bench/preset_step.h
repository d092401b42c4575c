// A training step of a registered problem preset, built the way `jetpinn train` builds it (pdes/config.h
// resolution, tools/run_setup.h network and options), for the step benchmarks and bench/jetpinn_step.
// gemm_flops() counts 2 flops per multiply-add of every affine product one loss evaluation runs: for each loss
// term (rows = streams x points) and each weight (out x in): forward, weight gradient and, except for the
// layers that read the (constant) input embedding, input gradient. Elementwise jet work is not counted.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "builtin_problems.h"
#include "config.h"
#include "run_setup.h"

namespace jetpinn::bench {

template <class T>
struct PresetStep {
  const ProblemInfo& info;
  Json cfg;
  std::unique_ptr<Problem<T>> problem;
  std::unique_ptr<Mlp<T>> net;
  std::unique_ptr<Trainer<T>> trainer;

  // sets: extra "key=value" overrides (e.g. "points.collocation=4096"). The training-dynamics diagnostics are
  // off unless a set turns them on: a plain step is what the step benchmarks time (bench_diagnostics times both).
  PresetStep(const std::string& problem_name, const std::string& preset, const std::vector<std::string>& sets = {})
      : info(find_problem(problem_name)), cfg(resolve_config(info, preset, nullptr, plain(sets))) {
    validate_config(cfg);
    const auto seed = static_cast<std::uint64_t>(cfg.at("train").at("seed").get<long long>());
    problem = make_problem<T>(info, cfg);
    net = std::make_unique<Mlp<T>>(network_config(info, cfg), seed);
    problem->configure_network(*net, cfg);
    std::vector<Term<T>> terms = problem->terms(cfg);
    for (auto& t : terms)
      if (cfg.at("loss").at("weights").contains(t.name)) t.weight = cfg.at("loss").at("weights").at(t.name);
    trainer = std::make_unique<Trainer<T>>(*net, std::move(terms), train_options(cfg), seed + 1);
  }

  static std::vector<std::string> plain(std::vector<std::string> sets) {
    sets.insert(sets.begin(), "diagnostics.enabled=false");
    return sets;
  }

  double gemm_flops() const {
    double f = 0;
    for (const auto& term : trainer->terms()) {
      const double rows = static_cast<double>(term.streams->size()) * static_cast<double>(term.count);
      for (const auto& p : net->params().infos()) {
        if (p.is_bias) continue;
        const bool reads_input = p.name == "layer0.W" || p.name.rfind("encoder_", 0) == 0;
        f += 2.0 * rows * static_cast<double>(p.rows) * static_cast<double>(p.cols) * (reads_input ? 2 : 3);
      }
    }
    return f;
  }
  // Jet rows (streams x points summed over the terms), for the napkin math.
  double jet_rows() const {
    double r = 0;
    for (const auto& term : trainer->terms()) r += static_cast<double>(term.streams->size()) * static_cast<double>(term.count);
    return r;
  }
};

}  // namespace jetpinn::bench
