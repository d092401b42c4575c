// The problems that ship with jetpinn; each file defines its own make_*_info().
#pragma once
#include <vector>

#include "problem.h"

namespace jetpinn {

ProblemInfo make_helmholtz_info();
ProblemInfo make_allen_cahn_info();
ProblemInfo make_burgers_info();
ProblemInfo make_cavity_info();

std::vector<ProblemInfo> builtin_problems();

}  // namespace jetpinn
