// Adam on the device: one kernel over the flat parameter vector, per entry adam_update_entry (core/adam_rule.h,
// the rule Adam<T>::step and HostOps<T>::adam call; on the device the IEEE result with no FMA contraction, since
// nvcc may not contract the _rn intrinsics). It is bit-identical to the rule on a host built with
// -ffp-contract=off; the library itself is built with -march=native, where g++ contracts, so against
// Adam<T>::step it agrees to a few ulps. The step counter stays on the host.
#pragma once
#include <cstddef>

#include "adam_rule.h"
#include "device_context.h"

namespace jetpinn::cuda {

// params, grads, m, v: n device entries each. The scalars are read from device memory (s_dev: one
// AdamStepScalars, 8 doubles, from adam_step_scalars(beta1, beta2, eps, t, lr) with t the new step), so a
// captured CUDA graph picks up each step's uploaded rate. Nothing
// changes when any of guard[0 .. guards) (device doubles: the step's non-finite counts) is non-zero: inside a
// captured graph the host cannot decide whether to update.
template <class T>
void adam_update(Context& ctx, std::ptrdiff_t n, const AdamStepScalars* s_dev, const double* guard, int guards,
                 T* params, const T* grads, T* m, T* v);

}  // namespace jetpinn::cuda
