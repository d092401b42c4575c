// The derivative demo: build an MLP, evaluate u and its input derivatives at a few points through the jets,
// and print each beside a central finite-difference estimate in float64.
#pragma once
#include <cstdint>
#include <ostream>

namespace jetpinn {

struct DemoOptions {
  int depth = 4, width = 64, points = 5;
  std::uint64_t seed = 0;
};

// Returns the largest relative difference between jets and finite differences.
double run_derivative_demo(const DemoOptions& opt, std::ostream& out);

}  // namespace jetpinn
