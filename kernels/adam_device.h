// Adam on the device: one kernel over the flat parameter vector, per entry exactly core/adam.cpp's update
// (adam_rule.h; bit-identical to the CPU step in float64 and float32 by construction, since nvcc may not
// contract the _rn intrinsics into FMAs). The step counter and the scalars stay on the host.
// Compiled, not yet run on a device.
#pragma once
#include <cstddef>

#include "adam_rule.h"
#include "device_context.h"

namespace jetpinn::cuda {

// params, grads, m, v: n device entries each; s from adam_scalars(beta1, beta2, eps, t, lr) with t the new step.
template <class T>
void adam_update(Context& ctx, std::ptrdiff_t n, const AdamScalars& s, T* params, const T* grads, T* m, T* v);

}  // namespace jetpinn::cuda
