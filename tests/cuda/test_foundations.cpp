// Foundations on the device: errors name the failing call, device tensors round-trip, the pool serves a
// repeated pattern without new cudaMallocs, GemmMath switches.
#include <limits>

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

TEST_CASE("gemm math: pedantic by default, TF32 on request, back again") {
  Context& c = ct::ctx();
  CHECK(c.math() == GemmMath::Pedantic);
  c.set_math(GemmMath::TF32);
  CHECK(c.math() == GemmMath::TF32);
  c.set_math(GemmMath::Pedantic);
  CHECK(c.math() == GemmMath::Pedantic);
}
