// The points file `jetpinn eval` reads: a CSV whose header names the problem's inputs (any order, extra columns
// ignored), then one point per line. Blank lines are skipped; anything else malformed is one error naming the
// file and line. Split out of eval_command.cpp so the fuzz target (tests/fuzz) can call it.
#pragma once
#include <string>
#include <vector>

#include "tensor.h"

namespace jetpinn {

// Fields of one CSV line split at `sep`, each trimmed of spaces, tabs and '\r'.
std::vector<std::string> split_fields(const std::string& s, char sep);
// The input columns, in the order of `inputs`, as an n x inputs.size() matrix (n >= 1).
RowMat<double> read_points_csv(const std::string& path, const std::vector<std::string>& inputs);

}  // namespace jetpinn
