// The TF32 split of the 3xTF32 GEMM mode (kernels/tf32_split.h), on the CPU: exactness of a = a_hi + a_lo on
// random and edge values, and an emulated product that shows why the mode exists: with both operands rounded to
// TF32 and float accumulation (what a TF32 tensor core does), A B is only ~1e-3 accurate; adding the two
// cross terms A_hi B_lo + A_lo B_hi brings it back to ~1e-6, float32's own level for these sizes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ios>
#include <limits>
#include <random>
#include <vector>

#include "tf32_split.h"

using namespace jetpinn::cuda;

namespace {

void check_split(float a) {
  float hi, lo;
  tf32_split(a, hi, lo);
  INFO("a = " << a << " (bits 0x" << std::hex << float_bits(a) << std::dec << "), hi = " << hi << ", lo = " << lo);
  REQUIRE(std::isfinite(hi));
  REQUIRE(std::isfinite(lo));
  CHECK((float_bits(hi) & TF32_LOW_MASK) == 0u);
  CHECK(hi + lo == a);                                                    // exact in float ...
  CHECK(static_cast<double>(hi) + static_cast<double>(lo) == static_cast<double>(a));  // ... and in double
  CHECK(std::signbit(hi) == std::signbit(a));
  const double ulp = tf32_ulp(a);
  const float tf32_max = bits_float(0x7f7fe000u);  // (2 - 2^-10) 2^127
  if (std::abs(static_cast<double>(a)) <= static_cast<double>(tf32_max) + ulp / 2)
    CHECK(std::abs(static_cast<double>(lo)) <= ulp / 2);
  else
    CHECK(std::abs(static_cast<double>(lo)) < ulp);  // truncated instead of rounding to inf
  CHECK(tf32_round(hi) == hi);  // idempotent
}

// C (m x n) = A (m x k) B (k x n), row-major, accumulated in float in k order: what one TF32 tensor-core GEMM
// with FP32 accumulation computes from TF32 operands, up to its accumulation order.
std::vector<float> matmul_float(const std::vector<float>& A, const std::vector<float>& B, int m, int k, int n) {
  std::vector<float> C(static_cast<std::size_t>(m) * n, 0.0f);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int p = 0; p < k; ++p) acc += A[static_cast<std::size_t>(i) * k + p] * B[static_cast<std::size_t>(p) * n + j];
      C[static_cast<std::size_t>(i) * n + j] = acc;
    }
  return C;
}

double rel_err(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(std::isfinite(got[i]));
    num = std::max(num, std::abs(static_cast<double>(got[i]) - want[i]));
    den = std::max(den, std::abs(want[i]));
  }
  return num / den;
}

}  // namespace

TEST_CASE("tf32 split: a = hi + lo exactly, hi has 10 mantissa bits, |lo| <= ulp/2, on random values") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::uniform_int_distribution<int> e(-140, 127);
  std::uniform_int_distribution<std::uint32_t> bits(0, 0xffffffffu);
  for (int i = 0; i < 20000; ++i) check_split(static_cast<float>(u(rng)));
  for (int i = 0; i < 20000; ++i) check_split(static_cast<float>(std::ldexp(u(rng), e(rng))));
  for (int i = 0; i < 20000; ++i) {  // any finite bit pattern
    const float a = bits_float(bits(rng));
    if (std::isfinite(a)) check_split(a);
  }
}

TEST_CASE("tf32 split: edge values (zeros, subnormals, powers of two, ties, the largest floats)") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 3.0f, 1.0f / 3.0f, -2.0f / 3.0f,
                          std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::max(), std::numeric_limits<float>::epsilon(),
                          bits_float(0x007fffffu),  // largest subnormal: rounds up to the smallest normal
                          bits_float(0x3f801000u),  // 1 + 2^-11: a tie, to even (1)
                          bits_float(0x3f803000u),  // 1 + 3 2^-11: a tie, to even (1 + 2^-9)
                          bits_float(0x3fffffffu),  // just under 2: rounds up into the next binade
                          bits_float(0x7f7fe000u), bits_float(0x7f7fefffu), bits_float(0x7f7ff000u)};
  for (int k = -149; k <= 127; ++k) {
    v.push_back(std::ldexp(1.0f, k));
    v.push_back(-std::ldexp(1.0f, k));
    v.push_back(std::ldexp(1.0f, k) * 1.2345678f);
  }
  for (float a : v) check_split(a);
  float hi, lo;
  tf32_split(bits_float(0x3f801000u), hi, lo);
  CHECK(hi == 1.0f);
  tf32_split(bits_float(0x3f803000u), hi, lo);
  CHECK(float_bits(hi) == 0x3f804000u);
  tf32_split(bits_float(0x007fffffu), hi, lo);
  CHECK(hi == std::numeric_limits<float>::min());
  tf32_split(std::numeric_limits<float>::max(), hi, lo);
  CHECK(float_bits(hi) == 0x7f7fe000u);  // truncated: rounding would give inf
  // Inf and NaN pass through with lo = 0.
  tf32_split(inf, hi, lo);
  CHECK((hi == inf && lo == 0.0f));
  tf32_split(-inf, hi, lo);
  CHECK((hi == -inf && lo == 0.0f));
  tf32_split(std::numeric_limits<float>::quiet_NaN(), hi, lo);
  CHECK((std::isnan(hi) && lo == 0.0f));
}

TEST_CASE("tf32 split: emulated 3xTF32 GEMM reaches float accuracy where plain TF32 does not (64x128 . 128x256)") {
  const int m = 64, k = 128, n = 256;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<float> A(static_cast<std::size_t>(m) * k), B(static_cast<std::size_t>(k) * n);
  for (auto& a : A) a = static_cast<float>(u(rng));
  for (auto& b : B) b = static_cast<float>(u(rng));
  std::vector<double> C(static_cast<std::size_t>(m) * n, 0.0);  // exact enough: double products of floats
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p)
        C[static_cast<std::size_t>(i) * n + j] += static_cast<double>(A[static_cast<std::size_t>(i) * k + p]) *
                                                   static_cast<double>(B[static_cast<std::size_t>(p) * n + j]);
  auto split = [](const std::vector<float>& X, std::vector<float>& hi, std::vector<float>& lo) {
    hi.resize(X.size());
    lo.resize(X.size());
    for (std::size_t i = 0; i < X.size(); ++i) {
      tf32_split(X[i], hi[i], lo[i]);
      lo[i] = tf32_round(lo[i]);  // the tensor core sees lo in TF32 too
    }
  };
  std::vector<float> Ah, Al, Bh, Bl;
  split(A, Ah, Al);
  split(B, Bh, Bl);
  // Plain TF32: one GEMM of the rounded operands.
  const double e_tf32 = rel_err(matmul_float(Ah, Bh, m, k, n), C);
  // 3xTF32: three GEMMs, small terms first, each result rounded to float as separate cuBLAS calls would.
  const std::vector<float> lh = matmul_float(Al, Bh, m, k, n), hl = matmul_float(Ah, Bl, m, k, n),
                           hh = matmul_float(Ah, Bh, m, k, n);
  std::vector<float> c3(hh.size());
  for (std::size_t i = 0; i < c3.size(); ++i) c3[i] = (lh[i] + hl[i]) + hh[i];
  const double e_3x = rel_err(c3, C);
  // Pedantic FP32 for comparison: the unrounded operands.
  const double e_fp32 = rel_err(matmul_float(A, B, m, k, n), C);
  MESSAGE("normwise relative error vs float64: TF32 " << e_tf32 << ", 3xTF32 " << e_3x << ", FP32 " << e_fp32);
  // TF32 keeps 11 significant bits (2^-11 = 4.9e-4 per operand); over 128 random-sign terms the normwise error
  // sits at a few 1e-4 .. 1e-3. 3xTF32 should be within a small factor of plain FP32 (float accumulation of
  // 128 terms: a few 1e-7) and far below 1e-5.
  CHECK(e_tf32 > 1e-4);
  CHECK(e_tf32 < 1e-2);
  CHECK(e_3x < 2e-6);
  CHECK(e_3x < 4 * e_fp32 + 1e-7);
  CHECK(e_3x * 100 < e_tf32);
}
