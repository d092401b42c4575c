// Host-side logic of the CUDA backend, run on the CPU (no device needed, so CI checks it everywhere):
// the memory pool's size classes and free lists (malloc standing in for cudaMalloc), the flat jet rules and the
// per-element rule functions the kernels inline (against core/jet_kernels_cpu.cpp), the Adam entry update
// (bit-identical to core/adam.cpp), and the batch split and partial-combining rule of the gradient statistics.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "adam.h"
#include "adam_rule.h"
#include "batch_stats_rule.h"
#include "jet_kernels_cpu.h"
#include "jet_rules.h"
#include "pool_cache.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {

std::vector<double> random_vec(std::size_t n, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// max |a - b| / max |b|: normwise relative error (both finite).
double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(std::isfinite(a[i]));
    REQUIRE(std::isfinite(b[i]));
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

StreamSetPtr set_ac() { static auto s = StreamSet::make({"t", "x"}, {"t", "xx"}); return s; }
StreamSetPtr set_lap() { static auto s = StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"}); return s; }
StreamSetPtr set_full() { static auto s = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"}); return s; }
StreamSetPtr set_full3() {
  static auto s = StreamSet::make({"x", "y", "z"}, {"xxx", "yyy", "zzz", "xyz", "xxy", "xxz", "xyy", "yyz", "xzz", "yzz"});
  return s;
}

}  // namespace

TEST_CASE("pool: size classes cover the request, stay 512-aligned and waste at most 25%") {
  std::size_t prev = 0;
  for (std::size_t b = 1; b < (std::size_t(1) << 22); b += 1 + b / 7) {
    const std::size_t c = BlockCache::class_size(b);
    CHECK(c >= b);
    CHECK(c % 512 == 0);
    CHECK(c >= prev);  // monotone
    if (b > 2048) CHECK(static_cast<double>(c - b) <= 0.25 * static_cast<double>(b));
    prev = c;
  }
  CHECK(BlockCache::class_size(1) == 512);
  CHECK(BlockCache::class_size(4096) == 4096);
  CHECK(BlockCache::class_size(4097) == 5120);
}

TEST_CASE("pool: a repeated allocation pattern hits the cache after the first round") {
  std::size_t raw_live = 0;
  {
    BlockCache cache([&](std::size_t n) { ++raw_live; return std::malloc(n); },
                     [&](void* p) { --raw_live; std::free(p); });
    const std::vector<std::size_t> sizes = {100, 4096, 1 << 20, 3 * 1000 * 1000, 100, 777};
    for (int round = 0; round < 3; ++round) {
      std::vector<void*> ptrs;
      for (std::size_t s : sizes) ptrs.push_back(cache.allocate(s));
      CHECK(std::set<void*>(ptrs.begin(), ptrs.end()).size() == ptrs.size());  // distinct live blocks
      CHECK(cache.stats().live_blocks == sizes.size());
      for (void* p : ptrs) cache.deallocate(p);
      CHECK(cache.stats().raw_allocs == sizes.size());  // nothing new after round 0
    }
    CHECK(cache.stats().hits == 2 * sizes.size());
    CHECK(cache.stats().live_bytes == 0);
    CHECK(cache.allocate(0) == nullptr);
    cache.deallocate(nullptr);
    void* p = cache.allocate(10);
    CHECK(cache.block_size(p) == 512);
    cache.deallocate(p);
    CHECK_THROWS_AS(cache.deallocate(p), Error);  // double free
    int x = 0;
    CHECK_THROWS_AS(cache.deallocate(&x), Error);  // foreign pointer
    cache.release_cached();
    CHECK(cache.stats().cached_blocks == 0);
    CHECK(raw_live == 0);
  }
  CHECK(raw_live == 0);
}

TEST_CASE("pool: a failed raw allocation releases the cache and retries once") {
  std::map<void*, std::size_t> sizes;
  std::size_t live = 0;
  const std::size_t limit = 10000;  // a fake device of 10,000 bytes
  BlockCache cache(
      [&](std::size_t n) -> void* {
        JETPINN_CHECK(live + n <= limit, "fake device out of memory");
        void* p = std::malloc(n);
        sizes[p] = n;
        live += n;
        return p;
      },
      [&](void* p) {
        live -= sizes[p];
        sizes.erase(p);
        std::free(p);
      });
  cache.deallocate(cache.allocate(4096));  // 4096 bytes cached
  CHECK(live == 4096);
  void* big = cache.allocate(6000);  // class 6144: does not fit beside the cached block -> release, retry
  CHECK(big != nullptr);
  CHECK(cache.stats().raw_frees == 1);
  CHECK(live == 6144);
  cache.deallocate(big);
  CHECK_THROWS_WITH_AS(cache.allocate(20000), doctest::Contains("out of memory"), Error);  // too big even when empty
  CHECK(live == 0);
}

TEST_CASE("jet rules: flat programs match the StreamSet's, and too many streams are refused") {
  for (const StreamSetPtr& set : {set_ac(), set_lap(), set_full(), set_full3(), StreamSet::value_only()}) {
    const FlatRules u = flatten_unary(*set), p = flatten_product(*set);
    CHECK(u.streams == set->size());
    std::size_t nu = 0, np = 0;
    for (int s = 1; s < set->size(); ++s) {
      nu += set->unary_program()[static_cast<std::size_t>(s)].size();
      np += set->product_program()[static_cast<std::size_t>(s)].size();
    }
    CHECK(static_cast<std::size_t>(u.begin[set->size()]) == nu);
    CHECK(static_cast<std::size_t>(p.begin[set->size()]) == np);
  }
  auto big = StreamSet::make({"a", "b", "c", "d"}, {"aaa", "bbb", "ccc", "ddd", "abc", "abd", "acd", "bcd", "aab", "aac",
                                                    "aad", "abb", "acc", "add", "bbc", "bbd", "bcc", "bdd", "ccd", "cdd"});
  REQUIRE(big->size() > MAX_STREAMS);
  CHECK_THROWS_WITH_AS(flatten_unary(*big), doctest::Contains("at most"), Error);
}

// The per-element functions of jet_rules.h (what each CUDA thread runs) against the CPU kernels, in float64.
// Tolerance 1e-13: the same arithmetic in a different order (and the CPU's vectorised tanh, ~5e-16 relative).
TEST_CASE("jet rules: per-element unary and product rules match the CPU kernels") {
  const double TOL = 1e-13;
  const Activation acts[] = {Activation::Tanh, Activation::Sin, Activation::Cos,     Activation::Exp,
                             Activation::Log,  Activation::Sqrt, Activation::Sigmoid, Activation::Softplus,
                             Activation::Reciprocal, Activation::Power, Activation::Erf};
  for (const StreamSetPtr& set : {set_ac(), set_lap(), set_full3(), StreamSet::value_only()}) {
    const int S = set->size();
    const FlatRules ur = flatten_unary(*set), pr = flatten_product(*set);
    for (Index n : {Index(1), Index(37), Index(300)}) {
      const auto N = static_cast<std::size_t>(S * n);
      for (Activation a : acts) {
        const bool positive = a == Activation::Log || a == Activation::Sqrt || a == Activation::Reciprocal;
        std::vector<double> x = random_vec(N, 1 + n, -1, 1), dy = random_vec(N, 2 + n);
        if (positive)
          for (Index e = 0; e < n; ++e) x[static_cast<std::size_t>(e)] = 0.5 + std::abs(x[static_cast<std::size_t>(e)]);
        const int power = a == Activation::Power ? 3 : 0;
        std::vector<double> y_cpu(N), y_el(N), dx_cpu = random_vec(N, 3), dx_el = dx_cpu;
        unary_jet_forward_cpu<double>(a, power, *set, n, x.data(), y_cpu.data());
        unary_jet_backward_cpu<double>(a, power, *set, n, x.data(), y_cpu.data(), dy.data(), dx_cpu.data());
        for (Index e = 0; e < n; ++e) {
          unary_jet_element_forward<double>(ur, a, power, x.data() + e, n, y_el.data() + e);
          unary_jet_element_backward<double>(ur, a, power, x.data() + e, y_el.data() + e, dy.data() + e, n, dx_el.data() + e);
        }
        INFO("streams [" << set->describe() << "], n = " << n << ", " << activation_name(a));
        CHECK(rel_err(y_el, y_cpu) < TOL);
        CHECK(rel_err(dx_el, dx_cpu) < TOL);
      }
      std::vector<double> u = random_vec(N, 5), v = random_vec(N, 6), dy = random_vec(N, 7);
      std::vector<double> y_cpu(N), y_el(N), du_cpu = random_vec(N, 8), dv_cpu = random_vec(N, 9);
      std::vector<double> du_el = du_cpu, dv_el = dv_cpu;
      product_jet_forward_cpu<double>(*set, n, u.data(), v.data(), y_cpu.data());
      product_jet_backward_cpu<double>(*set, n, u.data(), v.data(), dy.data(), du_cpu.data(), dv_cpu.data());
      for (Index e = 0; e < n; ++e) {
        product_jet_element_forward<double>(pr, u.data() + e, v.data() + e, n, y_el.data() + e);
        product_jet_element_backward<double>(pr, u.data() + e, v.data() + e, dy.data() + e, n, du_el.data() + e,
                                             dv_el.data() + e);
      }
      INFO("product, streams [" << set->describe() << "], n = " << n);
      CHECK(rel_err(y_el, y_cpu) < TOL);
      CHECK(rel_err(du_el, du_cpu) < TOL);
      CHECK(rel_err(dv_el, dv_cpu) < TOL);
    }
  }
}

// The entry rule (core/adam_rule.h) compiled here with no FMA contraction, as the device kernel's _rn
// intrinsics run it (this test file is built with -ffp-contract=off), against Adam<T>::step, which calls the
// same rule inside the library built with -march=native, where g++ contracts a*b + c into FMAs: the two agree
// to rounding, a few ulps of each moment and step (tolerance 4 eps of T, normwise).
TEST_CASE_TEMPLATE("adam rule: the entry update matches Adam<T>::step to rounding", T, float, double) {
  const Index n = 1031;
  const double TOL = 4 * std::numeric_limits<T>::epsilon();
  AdamConfig cfg;
  cfg.beta1 = 0.85;
  cfg.beta2 = 0.995;
  cfg.eps = 1e-7;
  Adam<T> cpu(n, cfg);
  std::vector<T> p_cpu(static_cast<std::size_t>(n)), m(static_cast<std::size_t>(n), T(0)), v = m;
  const auto p0 = random_vec(static_cast<std::size_t>(n), 11);
  for (Index i = 0; i < n; ++i) p_cpu[static_cast<std::size_t>(i)] = static_cast<T>(p0[static_cast<std::size_t>(i)]);
  std::vector<T> p_el = p_cpu;
  auto d = [](const std::vector<T>& a) { return std::vector<double>(a.begin(), a.end()); };
  for (long t = 1; t <= 5; ++t) {
    const auto gd = random_vec(static_cast<std::size_t>(n), 100 + static_cast<std::uint64_t>(t), -3, 3);
    std::vector<T> g(gd.begin(), gd.end());
    const double lr = 1e-3 * static_cast<double>(t);
    cpu.step(p_cpu.data(), g.data(), lr);
    const AdamStepScalars s = adam_step_scalars(cfg.beta1, cfg.beta2, cfg.eps, t, lr);
    for (std::size_t i = 0; i < p_el.size(); ++i) adam_update_entry<T>(s, p_el[i], g[i], m[i], v[i]);
    CHECK(rel_err(d(m), d(cpu.m())) <= TOL);
    CHECK(rel_err(d(v), d(cpu.v())) <= TOL);
    CHECK(rel_err(d(p_el), d(p_cpu)) <= TOL);
  }
}

TEST_CASE("batch statistics: the split covers the points, the first P % B batches one point larger") {
  for (auto [P, B] : {std::pair<Index, int>{10, 3}, {100, 10}, {7, 7}, {1, 1}, {1000, 13}}) {
    const auto off = even_batches(P, B);
    REQUIRE(off.size() == static_cast<std::size_t>(B) + 1);
    CHECK(off.front() == 0);
    CHECK(off.back() == P);
    for (int b = 0; b < B; ++b) {
      const Index nb = off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)];
      CHECK(nb == P / B + (b < P % B ? 1 : 0));
    }
  }
  CHECK_THROWS_AS(even_batches(5, 6), Error);
  CHECK_THROWS_AS(even_batches(5, 0), Error);
}

namespace {
// G, S1, S2 of one entry from per-sample gradients g (one per point), split by even_batches: the partials G_b
// are the batch sums, c_b = P / n_b (what the kernels hand to combine_batch_partials).
struct Combined {
  double G, S1, S2;
};
Combined combine_samples(const std::vector<double>& g, int B) {
  const Index P = static_cast<Index>(g.size());
  const std::vector<Index> off = even_batches(P, B);
  std::vector<double> partial(static_cast<std::size_t>(B), 0.0), c(static_cast<std::size_t>(B));
  for (int b = 0; b < B; ++b) {
    const auto lo = static_cast<std::size_t>(off[static_cast<std::size_t>(b)]);
    const auto hi = static_cast<std::size_t>(off[static_cast<std::size_t>(b) + 1]);
    for (std::size_t i = lo; i < hi; ++i) partial[static_cast<std::size_t>(b)] += g[i];
    c[static_cast<std::size_t>(b)] = static_cast<double>(P) / static_cast<double>(hi - lo);
  }
  Combined r{};
  combine_batch_partials<double>(partial.data(), 1, 0, B, c.data(), r.G, r.S1, r.S2);
  return r;
}
}  // namespace

// What G, S1, S2 mean (batch_stats_rule.h): G is the full gradient, and S1 / B, S2 / B - (S1 / B)^2 are the mean
// and the variance over batches of the batch estimate e_b = P * (mean of batch b's samples). Hand-worked values
// first (exact), then raw random samples against a two-pass mean and variance of the e_b formed from the samples.
TEST_CASE("batch statistics: G, S1, S2 are the full gradient and the batch estimates' sums (hand-worked, two-pass)") {
  // P = 12 in B = 5 batches: sizes 3, 3, 2, 2, 2, so c_b = 4, 4, 6, 6, 6 (all exact).
  {
    // Every sample 0.375: every batch estimate is P * 0.375 = 4.5, so G = 4.5, S1 = 5 * 4.5, S2 = 5 * 4.5^2 and the
    // variance is zero, all exact.
    const Combined r = combine_samples(std::vector<double>(12, 0.375), 5);
    CHECK(r.G == 4.5);
    CHECK(r.S1 == 22.5);
    CHECK(r.S2 == 101.25);
    CHECK(r.S2 / 5 - (r.S1 / 5) * (r.S1 / 5) == 0.0);
  }
  {
    // Samples g_i = i: G = 0 + ... + 11 = 66; batch means 1, 4, 6.5, 8.5, 10.5, estimates 12, 48, 78, 102, 126:
    // S1 = 366, S2 = 144 + 2304 + 6084 + 10404 + 15876 = 34812 (integers, exact in double).
    std::vector<double> g(12);
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<double>(i);
    const Combined r = combine_samples(g, 5);
    CHECK(r.G == 66.0);
    CHECK(r.S1 == 366.0);
    CHECK(r.S2 == 34812.0);
  }
  // Random samples, ragged batches (c_b = P / n_b inexact). The oracle sums the raw samples directly (G) and takes
  // the batch estimates e_b = P * (batch sum / n_b) in two passes (mean, then mean squared deviation), a different
  // order and formula from the rule's one-pass sums of c_b G_b. Bound: summation error, u * (terms) * sum |terms|
  // for each side (u = 2^-53), so at most 2 n u sum|x| between them; the variance, a difference of two terms of
  // size S2 / B each carrying a few roundings, to 8 n u S2 / B (generous: the measured errors are printed).
  const double u = std::numeric_limits<double>::epsilon() / 2;
  for (auto [P, B] : {std::pair<Index, int>{1000, 13}, {101, 7}, {37, 37}, {50, 1}}) {
    CAPTURE(P);
    CAPTURE(B);
    const std::vector<double> g = random_vec(static_cast<std::size_t>(P), 40 + static_cast<std::uint64_t>(P), -1, 3);
    const Combined r = combine_samples(g, B);
    double g_all = 0, g_abs = 0;
    for (double v : g) {
      g_all += v;
      g_abs += std::abs(v);
    }
    const std::vector<Index> off = even_batches(P, B);
    std::vector<double> e(static_cast<std::size_t>(B));
    double e_abs = 0;
    for (int b = 0; b < B; ++b) {
      double sum = 0;
      for (Index i = off[static_cast<std::size_t>(b)]; i < off[static_cast<std::size_t>(b) + 1]; ++i) sum += g[static_cast<std::size_t>(i)];
      const double nb = static_cast<double>(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)]);
      e[static_cast<std::size_t>(b)] = static_cast<double>(P) * (sum / nb);
      e_abs += std::abs(e[static_cast<std::size_t>(b)]);
    }
    double mean = 0;
    for (double v : e) mean += v;
    mean /= B;
    double var = 0;
    for (double v : e) var += (v - mean) * (v - mean);
    var /= B;
    const double n = static_cast<double>(P + B);  // terms summed on either side, with margin
    const double tol_g = 2 * n * u * g_abs, tol_mean = 2 * n * u * e_abs / B, tol_var = 8 * n * u * r.S2 / B;
    const double err_g = std::abs(r.G - g_all), err_mean = std::abs(r.S1 / B - mean);
    const double err_var = std::abs((r.S2 / B - (r.S1 / B) * (r.S1 / B)) - var);
    MESSAGE("P=" << P << " B=" << B << ": |G - sum g_i| " << err_g << " (bound " << tol_g << "), |S1/B - mean e_b| "
                 << err_mean << " (bound " << tol_mean << "), |S2/B - (S1/B)^2 - var e_b| " << err_var << " (bound "
                 << tol_var << "), var e_b " << var);
    CHECK(err_g <= tol_g);
    CHECK(err_mean <= tol_mean);
    CHECK(err_var <= tol_var);
    if (B > 1) CHECK(var > 1e3 * tol_var);  // the bound is far below the variance: the check is not vacuous
  }
}
