// Up-front memory check for `jetpinn train`: a run whose tape would not fit in the memory the machine has free
// is refused before anything is allocated, with the estimate. The estimate counts what dominates: per loss
// term, points x jet streams x hidden units (summed over the layers) values, four times over (each layer's affine
// output and activation jets, and their adjoints), at the run's precision; computed in floating point so no size
// overflows.
#pragma once
#include "problem.h"

namespace jetpinn {

double estimate_training_bytes(const ProblemInfo& info, const Json& cfg);
// Bytes this process may still allocate: /proc/meminfo MemAvailable, lowered by a cgroup v2 memory.max;
// a negative value when neither can be read.
double available_memory_bytes();
// Throws "... needs about X GiB ..., Y GiB available" when the estimate exceeds what is available.
void check_training_memory(const ProblemInfo& info, const Json& cfg);

}  // namespace jetpinn
