// The list of problems that ship with jetpinn.
#include "builtin_problems.h"

namespace jetpinn {

std::vector<ProblemInfo> builtin_problems() {
  std::vector<ProblemInfo> v;
  v.push_back(make_allen_cahn_info());
  v.push_back(make_helmholtz_info());
  v.push_back(make_burgers_info());
  v.push_back(make_cavity_info());
  return v;
}

}  // namespace jetpinn
