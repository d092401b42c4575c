// `jetpinn eval`, `jetpinn export` and `jetpinn reference`: evaluate a trained run at a user's points (CSV in,
// CSV out), write a trained run's weights by name (.npz, Model::parameters()), and write a problem's reference
// solution (.npy for one field with its grid in NAME_grid.npz, else one .npz).
#pragma once
#include <string>
#include <vector>

namespace jetpinn {

struct EvalArgs {
  std::string run, points, derivs, out;
};
int run_eval(const EvalArgs& args);

struct ExportArgs {
  std::string run, out;
};
int run_export(const ExportArgs& args);

struct ReferenceArgs {
  std::string problem, preset, out;
  std::vector<std::string> sets;
};
int run_reference(const ReferenceArgs& args);

}  // namespace jetpinn
