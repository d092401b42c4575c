// `jetpinn train ... --dry-run`: what a run would be and what it would cost, with nothing written. Prints the
// resolved configuration (as config.json would hold it), the network's parameter count, each loss term's points
// and jet streams, the tape memory estimate, then times a few warm-up steps (plain Adam steps, diagnostics
// measurement steps, quasi-Newton steps when the run has them) and one evaluation against the reference, and
// projects the wall time of the requested steps at the run's cadences (diagnostics, compression, evaluation,
// checkpoints). The reference is computed (and cached) as the run would.
#pragma once
#include <ostream>
#include <string>

#include "problem.h"

namespace jetpinn {

// `start`: the step a resumed run continues from (0 for a new run).
int run_dry(const ProblemInfo& info, const Json& cfg, long start, std::ostream& out);

// A wall time in words, as the dry run's projection and the training progress line show it: "12.0 s",
// "3.5 min", "1.2 h", "2.0 days".
std::string format_duration(double seconds);

}  // namespace jetpinn
