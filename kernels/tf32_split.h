// Splitting a float into two TF32 halves for error-compensated (3xTF32) GEMMs, host and device (JETPINN_HD), so
// the host tests check the same bit operations the split kernel runs.
//   a = a_hi + a_lo exactly, a_hi = a rounded to TF32 (10 explicit mantissa bits: the low 13 of float's 23 are
//   zero; round to nearest, ties to even, on those 13 bits), |a_lo| <= ulp_tf32(a) / 2.
// A TF32 tensor-core product then keeps a_hi b_hi exactly (11 x 11 significant bits fit float's 24), and
// a_hi b_lo + a_lo b_hi restores the next 11 bits: A B ~ A_hi B_hi + A_hi B_lo + A_lo B_hi to ~float accuracy
// (the dropped a_lo b_lo is 2^-22 relative). Exception: |a| above the largest TF32 number plus half its ulp
// would round to infinity; there a_hi is truncated instead (still exact, |a_lo| < ulp_tf32(a)).
// Inf and NaN pass through as a_hi with a_lo = 0. Pure C++ header (no CUDA types).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "activations.h"  // JETPINN_HD

namespace jetpinn::cuda {

constexpr std::uint32_t TF32_DROPPED_BITS = 13;                             // float mantissa 23 - TF32's 10
constexpr std::uint32_t TF32_LOW_MASK = (1u << TF32_DROPPED_BITS) - 1;      // 0x1fff

JETPINN_HD inline std::uint32_t float_bits(float a) {
  std::uint32_t u;
  std::memcpy(&u, &a, sizeof u);
  return u;
}
JETPINN_HD inline float bits_float(std::uint32_t u) {
  float a;
  std::memcpy(&a, &u, sizeof a);
  return a;
}

// a rounded to TF32 (returned as a float whose low 13 mantissa bits are zero).
JETPINN_HD inline float tf32_round(float a) {
  const std::uint32_t u = float_bits(a);
  if ((u & 0x7f800000u) == 0x7f800000u) return a;  // inf, NaN: unchanged
  // Round to nearest even on the low 13 bits: add half an ulp minus one, plus the kept lsb (ties go to even).
  // A carry out of the mantissa moves into the exponent, which is the correctly rounded value (subnormals too).
  std::uint32_t r = u + (TF32_LOW_MASK >> 1) + ((u >> TF32_DROPPED_BITS) & 1u);
  r &= ~TF32_LOW_MASK;
  if ((r & 0x7f800000u) == 0x7f800000u) r = u & ~TF32_LOW_MASK;  // would overflow to inf: truncate
  return bits_float(r);
}

// a = hi + lo exactly (see the file comment).
JETPINN_HD inline void tf32_split(float a, float& hi, float& lo) {
  hi = tf32_round(a);
  const std::uint32_t u = float_bits(a);
  lo = (u & 0x7f800000u) == 0x7f800000u ? 0.0f : a - hi;  // exact: hi and a agree in all but the low 13 bits
}

// ulp of TF32 at a's binade (finite a): 2^(e - 10), e = a's unbiased exponent, subnormals at e = -126. Host only.
inline double tf32_ulp(float a) {
  const int biased = static_cast<int>((float_bits(a) >> 23) & 0xffu);
  return std::ldexp(1.0, (biased == 0 ? 1 : biased) - 127 - 10);
}

}  // namespace jetpinn::cuda
