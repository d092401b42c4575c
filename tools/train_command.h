// `jetpinn train`: resolve the configuration, train with a live progress line, and write the run folder:
// config.json (resolved), metrics.jsonl, checkpoint (atomic), summary.json, prediction_<field>.npy.
#pragma once
#include <string>
#include <vector>

namespace jetpinn {

struct TrainArgs {
  std::string problem, preset, config_file, out, resume;
  std::vector<std::string> sets;
  long iters = 0;
  bool iters_given = false;  // else from the configuration
  long seed = 0;
  bool seed_given = false;
  std::string precision, backend;
  int threads = 0;
  bool threads_given = false;
  bool quiet = false;
  bool dry_run = false;  // print the resolved configuration and the projected cost; write nothing
};

int run_train(const TrainArgs& args);

}  // namespace jetpinn
