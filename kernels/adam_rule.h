// The Adam update of one entry, written once for host and device, in the exact operation order of
// core/adam.cpp (moments in T, bias correction and the update in double). On the device every multiply and
// add goes through the _rn intrinsics so nvcc cannot contract them into FMAs: the device step then matches
// this function compiled on a host with -ffp-contract=off bit for bit (core/adam.cpp is compiled with
// -march=native and g++'s default contraction, so it differs from both by a few ulps).
#pragma once
#include <cmath>

#include "activations.h"  // JETPINN_HD

namespace jetpinn::cuda {

// Per-step scalars, computed on the host exactly as Adam<T>::step does.
struct AdamScalars {
  double lr = 0, eps = 0, bc1 = 1, bc2 = 1;  // bc = 1 - beta^t
  double b1 = 0, c1 = 0, b2 = 0, c2 = 0;     // beta1, 1 - beta1, beta2, 1 - beta2 (cast to T at use)
};

// Scalars of step number t (>= 1, after the increment) with learning rate lr (AdamConfig's beta1, beta2, eps;
// core/adam.h is not included here because it pulls Eigen into nvcc).
inline AdamScalars adam_scalars(double beta1, double beta2, double eps, long t, double lr) {
  AdamScalars s;
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
