// The Adam update of one entry, written once for host and device, in the exact operation order of
// core/adam.cpp (moments in T, bias correction and the update in double). On the device every multiply and
// add goes through the _rn intrinsics so nvcc cannot contract them into FMAs: the device step then matches
// this function compiled on a host with -ffp-contract=off bit for bit (core/adam.cpp is compiled with
// -march=native and g++'s default contraction, so it differs from both by a few ulps).
#pragma once
#include <cmath>

#include "activations.h"  // JETPINN_HD
#include "adam_scalars.h"

namespace jetpinn::cuda {

// Per-step scalars (core/adam_scalars.h): the layout the kernel reads from device memory.
using AdamScalars = AdamStepScalars;
inline AdamScalars adam_scalars(double beta1, double beta2, double eps, long t, double lr) {
  return adam_step_scalars(beta1, beta2, eps, t, lr);
}

namespace detail {
#ifdef __CUDA_ARCH__
__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ inline double add_rn(double a, double b) { return __dadd_rn(a, b); }
#else
template <class T>
inline T mul_rn(T a, T b) { return a * b; }
template <class T>
inline T add_rn(T a, T b) { return a + b; }
#endif
}  // namespace detail

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr m_hat / (sqrt(v_hat) + eps), as core/adam.cpp.
template <class T>
JETPINN_HD inline void adam_update_entry(const AdamScalars& s, T& p, T g, T& m, T& v) {
  using detail::add_rn;
  using detail::mul_rn;
  using std::sqrt;
  const T b1 = static_cast<T>(s.b1), c1 = static_cast<T>(s.c1), b2 = static_cast<T>(s.b2), c2 = static_cast<T>(s.c2);
  m = add_rn(mul_rn(b1, m), mul_rn(c1, g));
  v = add_rn(mul_rn(b2, v), mul_rn(mul_rn(c2, g), g));  // c2 * g * g, left to right
  const double m_hat = static_cast<double>(m) / s.bc1;
  const double v_hat = static_cast<double>(v) / s.bc2;
  const double step = mul_rn(s.lr, m_hat) / add_rn(sqrt(v_hat), s.eps);
  p = static_cast<T>(add_rn(static_cast<double>(p), -step));
}

}  // namespace jetpinn::cuda
