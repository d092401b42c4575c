// The per-step scalars of an Adam update (rate, eps, bias corrections 1 - beta^t, moment weights), in double as
// Adam<T>::step (core/adam.cpp) computes them inline. Backend<T>::set_adam_scalars (core/backend.cpp) takes them
// from here and uploads them each step, so a captured CUDA graph reads the current rate; kernels/adam_rule.h's
// adam_scalars wraps the same function for the device tests. This file holds the scalars only: the update that
// uses them is written in Adam<T>::step, HostOps<T>::adam (core/host_ops.cpp) and kernels/adam_rule.h (the
// device kernel's per-entry rule). Plain header (no Eigen): nvcc includes it too.
#pragma once
#include <cmath>

namespace jetpinn {

struct AdamStepScalars {
  double lr = 0, eps = 0, bc1 = 1, bc2 = 1;  // bc = 1 - beta^t
  double b1 = 0, c1 = 0, b2 = 0, c2 = 0;     // beta1, 1 - beta1, beta2, 1 - beta2 (cast to T at use)
};

// Scalars of step number t (>= 1, after the increment) with learning rate lr.
inline AdamStepScalars adam_step_scalars(double beta1, double beta2, double eps, long t, double lr) {
  AdamStepScalars s;
  s.lr = lr;
  s.eps = eps;
  s.bc1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  s.bc2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  s.b1 = beta1;
  s.c1 = 1.0 - beta1;
  s.b2 = beta2;
  s.c2 = 1.0 - beta2;
  return s;
}

}  // namespace jetpinn
