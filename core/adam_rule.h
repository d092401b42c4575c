// The Adam update of one entry, written once: Adam<T>::step (core/adam.cpp), HostOps<T>::adam
// (core/host_ops.cpp) and the device kernel (kernels/adam_device.cu) all call adam_update_entry. Moments in T,
// bias correction and the update in double whatever T is (in float, 1 - 0.999^t loses most of its digits for
// small t). On the device every multiply and add goes through the _rn intrinsics, which nvcc never contracts into
// FMAs; the host compilation may contract (g++'s default with -march=native), so host and device agree to a few
// ulps, and bit for bit with a host build under -ffp-contract=off (tests/cuda/test_linear_adam.cpp is one).
// Plain header (no Eigen): nvcc includes it too.
#pragma once
#include <cmath>

#include "activations.h"  // JETPINN_HD

namespace jetpinn {

// The per-step scalars (rate, eps, bias corrections 1 - beta^t, moment weights), in double. A backend uploads
// them each step (Backend<T>::set_adam_scalars), so a captured CUDA graph reads the current rate.
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

namespace adam_detail {
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
}  // namespace adam_detail

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr m_hat / (sqrt(v_hat) + eps).
template <class T>
JETPINN_HD inline void adam_update_entry(const AdamStepScalars& s, T& p, T g, T& m, T& v) {
  using adam_detail::add_rn;
  using adam_detail::mul_rn;
  using std::sqrt;
  const T b1 = static_cast<T>(s.b1), c1 = static_cast<T>(s.c1), b2 = static_cast<T>(s.b2), c2 = static_cast<T>(s.c2);
  // The products are named in this order because g++, contracting on the host, fuses the first of each pair
  // (b1 m, b2 v) into the FMA; written as one expression it fuses the other, and a run's bits change.
  const T b1m = mul_rn(b1, m);
  const T c1g = mul_rn(c1, g);
  m = add_rn(b1m, c1g);
  const T b2v = mul_rn(b2, v);
  const T c2gg = mul_rn(mul_rn(c2, g), g);  // c2 * g * g, left to right
  v = add_rn(b2v, c2gg);
  const double m_hat = static_cast<double>(m) / s.bc1;
  const double v_hat = static_cast<double>(v) / s.bc2;
  const double step = mul_rn(s.lr, m_hat) / add_rn(sqrt(v_hat), s.eps);
  p = static_cast<T>(add_rn(static_cast<double>(p), -step));
}

}  // namespace jetpinn
