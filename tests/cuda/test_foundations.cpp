// Foundations on the device: errors name the failing call, device tensors round-trip, the pool serves a
// repeated pattern without new cudaMallocs, GemmMath decides a float GEMM's result.
#include <cmath>
#include <limits>

#include "blas.h"
#include "cuda_test_helpers.h"

using namespace jetpinn::cuda;

TEST_CASE("errors: a missing device and an impossible allocation throw naming the call") {
  CHECK_THROWS_WITH_AS(Context(9999), doctest::Contains("CUDA device 9999 requested"), jetpinn::Error);
  DeviceTensor<double> huge(ct::ctx());
  // 2^45 doubles = 256 TiB: cudaMalloc fails with out of memory, and the message names it and where.
  CHECK_THROWS_WITH_AS(huge.resize(std::ptrdiff_t(1) << 30, std::ptrdiff_t(1) << 15), doctest::Contains("cudaMalloc"),
                       jetpinn::Error);
  // The context still works afterwards (the error was not sticky).
  DeviceTensor<float> ok(ct::ctx(), 3, 3);
  ok.set_zero();
  ct::ctx().synchronize();
}

TEST_CASE_TEMPLATE("device tensor: upload / download round trip, ragged sizes", T, float, double) {
  for (auto [r, c] : {std::pair<int, int>{1, 1}, {37, 3}, {1000, 129}}) {
    const auto a = ct::random_data<T>(static_cast<std::size_t>(r * c), 7 + r);
    DeviceTensor<T> d = ct::upload(a.t, r, c);
    CHECK(d.to_host() == a.t);
    d.set_zero();
    const auto z = d.to_host();
    CHECK(std::all_of(z.begin(), z.end(), [](T v) { return v == T(0); }));
  }
}

TEST_CASE("pool: a repeated pattern of tensors makes no new cudaMalloc once warm") {
  Context& c = ct::ctx();
  auto round = [&] {
    DeviceTensor<float> a(c, 25600, 128), b(c, 1000, 3);
    DeviceTensor<double> e(c, 4 * 25600, 128);
    a.set_zero();
    e.set_zero();
  };
  round();
  c.synchronize();
  const std::size_t raw = c.pool().stats().raw_allocs;
  for (int i = 0; i < 3; ++i) round();
  c.synchronize();
  CHECK(c.pool().stats().raw_allocs == raw);
  CHECK(c.pool().stats().hits >= 9);
}

// The GemmMath a Context holds decides a float GEMM's bits, in two products whose results are exactly known
// whatever the summation order and whether the GPU rounds to TF32 to nearest or by truncation:
//  - "ones": C = A B, 128 x 128 x 128, A all x = 1 + 3 * 2^-13, B all ones. x's TF32 value (10 mantissa bits) is
//    1, so TF32 gives C = 128 exactly; FP32 and 3xTF32 give 128 x = 128 + 3 * 2^-6 exactly (every partial sum
//    j x, j <= 128, has 19 significant bits).
//  - "square": c = x * x (1 x 1 x 1). FP32: fl(1 + 3 * 2^-12 + 9 * 2^-26) = 1 + 3 * 2^-12 + 2^-23 (9 * 2^-26 is
//    just over one ulp of 1 and rounds to it); 3xTF32: hi hi + hi lo + lo hi = 1 + 3 * 2^-12 (lo = 3 * 2^-13 is
//    exact in TF32, lo lo is dropped). Pedantic FP32 and 3xTF32 thus differ by one ulp, both exactly.
// A Context starts pedantic unless asked otherwise (device_context.h), and both the constructor's mode and
// set_math reach the cuBLAS handle, not only what math() reports.
TEST_CASE("gemm math: pedantic by default; TF32 and 3xTF32 change a float GEMM's result, as documented") {
  const float x = 1.0f + 3.0f * std::ldexp(1.0f, -13);
  const float sq_fp32 = 1.0f + 3.0f * std::ldexp(1.0f, -12) + std::ldexp(1.0f, -23);
  const float sq_tf32x3 = 1.0f + 3.0f * std::ldexp(1.0f, -12);
  const float ones_exact = 128.0f + 3.0f * std::ldexp(1.0f, -6), ones_tf32 = 128.0f;
  REQUIRE(static_cast<double>(x) * x != static_cast<double>(sq_fp32));  // fp32 really rounds the square
  REQUIRE(sq_fp32 != sq_tf32x3);
  const int n = 128;
  const std::vector<float> xs(static_cast<std::size_t>(n * n), x), ones(xs.size(), 1.0f);
  auto gemm_of = [&](Context& c, int dim, const std::vector<float>& A, const std::vector<float>& B) {
    DeviceTensor<float> a(c, dim, dim), b(c, dim, dim), out(c, dim, dim);
    a.upload_raw(A.data());
    b.upload_raw(B.data());
    out.set_zero();
    gemm<float>(c, false, false, dim, dim, dim, 1.0f, a.data(), dim, b.data(), dim, 0.0f, out.data(), dim);
    return out.to_host();
  };
  auto all_equal = [](const std::vector<float>& v, float want) {
    for (float e : v)
      if (e != want) {
        MESSAGE("got " << e << ", want " << want);
        return false;
      }
    return true;
  };
  auto square = [&](Context& c) { return gemm_of(c, 1, {x}, {x})[0]; };
  Context fresh(0);  // not the shared one, which other cases switch
  CHECK(fresh.math() == GemmMath::Pedantic);
  CHECK(all_equal(gemm_of(fresh, n, xs, ones), ones_exact));
  CHECK(square(fresh) == sq_fp32);
  fresh.set_math(GemmMath::TF32);
  CHECK(fresh.math() == GemmMath::TF32);
  CHECK(all_equal(gemm_of(fresh, n, xs, ones), ones_tf32));
  fresh.set_math(GemmMath::TF32x3);
  CHECK(fresh.math() == GemmMath::TF32x3);
  CHECK(all_equal(gemm_of(fresh, n, xs, ones), ones_exact));
  CHECK(square(fresh) == sq_tf32x3);
  fresh.set_math(GemmMath::Pedantic);  // and back
  CHECK(all_equal(gemm_of(fresh, n, xs, ones), ones_exact));
  CHECK(square(fresh) == sq_fp32);
  Context tf32(0, GemmMath::TF32);
  CHECK(tf32.math() == GemmMath::TF32);
  CHECK(all_equal(gemm_of(tf32, n, xs, ones), ones_tf32));
}
