// `jetpinn list [PROBLEM [--preset P]]`. Without a problem: every problem (inputs, outputs, presets, PDE
// parameters) and every option key with its common default, a one-line description and its allowed values.
// With one: that problem's resolved defaults, key by key, those its preset changes marked "*" with the value before.
#pragma once
#include <ostream>
#include <string>

namespace jetpinn {

struct ListArgs {
  std::string problem, preset;
};

int run_list(const ListArgs& args, std::ostream& out);

}  // namespace jetpinn
