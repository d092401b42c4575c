// Adam on the device: one kernel over the flat parameter vector, per entry core/adam.cpp's update as written
// (adam_rule.h: the IEEE result with no FMA contraction, since nvcc may not contract the _rn intrinsics). It is
// bit-identical to adam_update_entry on a host built with -ffp-contract=off; core/adam.cpp itself is built with
// -march=native, where g++ contracts, so against Adam<T>::step it agrees to a few ulps. The step counter and
// the scalars stay on the host.
#pragma once
#include <cstddef>

#include "adam_rule.h"
#include "device_context.h"

namespace jetpinn::cuda {

// params, grads, m, v: n device entries each; s from adam_scalars(beta1, beta2, eps, t, lr) with t the new step.
template <class T>
void adam_update(Context& ctx, std::ptrdiff_t n, const AdamScalars& s, T* params, const T* grads, T* m, T* v);

// The same update with the scalars read from device memory (s_dev: one AdamScalars, 8 doubles, the layout of
// core/backend_ops.h's AdamStepScalars), so a captured CUDA graph picks up each step's uploaded rate. Nothing
// changes when any of guard[0 .. guards) (device doubles: the step's non-finite counts) is non-zero: inside a
// captured graph the host cannot decide whether to update.
template <class T>
void adam_update(Context& ctx, std::ptrdiff_t n, const AdamScalars* s_dev, const double* guard, int guards,
                 T* params, const T* grads, T* m, T* v);

}  // namespace jetpinn::cuda
