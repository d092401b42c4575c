// The accuracy of the cavity reference the problem scores against: the Richardson extrapolation of the 513² and
// 257² solutions (corner flow subtracted), sampled on the 129² grid, in the scoring metric (relative L2 of the
// velocity (u, v)). Its error is estimated from the convergence sequence: the second-order changes between
// grids, and the change between successive extrapolated levels. The checks against a 1025² solve (three to four
// minutes and 11 GB each) are skipped by default:
//   jetpinn_tests -tc='*cavity*1025*' --no-skip
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "check.h"
#include "references/cavity_reference.h"

using jetpinn::CavityParams;
using jetpinn::CavitySolution;

namespace {

constexpr int SCORING = 128;  // the scoring grid's cells per side

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Sequence {
  std::vector<CavitySolution> grids;  // raw grid levels, coarsest first
  std::vector<double> changes;        // velocity change between successive grids, on the scoring nodes
  std::vector<double> richardson;     // change between successive extrapolated levels, on the scoring nodes
};

// Grids n/2^(levels-1) .. n at Re, with changes measured on the nodes of the scoring grid (the coarsest level
// must contain them).
Sequence convergence_sequence(double re, int n, int levels, double tolerance = 1e-9) {
  CavityParams p;
  p.reynolds = re;
  p.n = n;
  p.tolerance = tolerance;
  Sequence s;
  s.grids = jetpinn::solve_cavity_levels(p, levels);
  s.grids.erase(s.grids.begin(), s.grids.end() - levels);
  std::vector<CavitySolution> extrapolated;
  for (std::size_t k = 1; k < s.grids.size(); ++k) {
    s.changes.push_back(jetpinn::cavity_velocity_difference(s.grids[k - 1], s.grids[k], SCORING));
    extrapolated.push_back(jetpinn::richardson_cavity(s.grids[k - 1], s.grids[k]));
    if (k >= 2)
      s.richardson.push_back(jetpinn::cavity_velocity_difference(extrapolated[k - 2], extrapolated[k - 1], SCORING));
  }
  for (std::size_t k = 0; k < s.changes.size(); ++k)
    MESSAGE("Re " << re << ": " << (s.grids[k].n + 1) << "² -> " << (s.grids[k + 1].n + 1) << "²: velocity change "
                  << s.changes[k] << (k ? ", order " + std::to_string(std::log2(s.changes[k - 1] / s.changes[k])) : "")
                  << (k ? ", change of the extrapolated field " + std::to_string(s.richardson[k - 1]) : ""));
  return s;
}

}  // namespace

TEST_CASE("reference cavity: extrapolation combines grids as (4 fine - coarse)/3 and measures its own change") {
  CavityParams p;
  p.n = 32;
  p.coarsest_n = 8;
  const std::vector<CavitySolution> g = jetpinn::solve_cavity_levels(p, 3);
  REQUIRE(g.size() == 3);
  const CavitySolution r = jetpinn::solve_cavity_extrapolated(p);
  CHECK(r.n == 16);
  CHECK(r.richardson_from == 32);
  const CavitySolution manual = jetpinn::richardson_cavity(g[1], g[2]);
  CHECK(r.u == manual.u);
  CHECK(r.v == manual.v);
  CHECK(r.u[5 * 17 + 7] == doctest::Approx((4 * g[2].u[10 * 33 + 14] - g[1].u[5 * 17 + 7]) / 3).epsilon(1e-15));
  CHECK(r.richardson_change ==
        jetpinn::cavity_velocity_difference(jetpinn::richardson_cavity(g[0], g[1]), manual, 8));
  CHECK_THROWS_AS(jetpinn::richardson_cavity(g[0], g[2]), jetpinn::Error);  // 9² and 33²: not n and 2n
  CavityParams odd = p;
  odd.n = 36;
  CHECK_THROWS_AS(jetpinn::solve_cavity_extrapolated(odd), jetpinn::Error);
}

TEST_CASE("reference cavity: Re = 100 reference extrapolated from 513^2 is within 1e-4 in velocity") {
  // The default Re = 100 reference. Measured on 129², 257², 513²: changes 1.18e-3, 2.85e-4 (order 2.05), so the
  // raw 513² field is ~9.5e-5 from the limit; the extrapolated fields of (129², 257²) and (257², 513²) differ by
  // 1.03e-4. The extrapolated levels converge at third order (the 1025² case below: 1.03e-4 -> 1.18e-5), so the
  // reference is ~1.03e-4 / 7 = 1.5e-5 from the limit (1.2e-5 from the 1025² extrapolation), and within 1.03e-4
  // even if extrapolating had gained nothing.
  const auto t0 = std::chrono::steady_clock::now();
  const Sequence s = convergence_sequence(100.0, 512, 3);
  const double order = std::log2(s.changes[0] / s.changes[1]);
  MESSAGE("estimated error of the reference: " << s.richardson[0] / 7 << "; " << seconds_since(t0) << " s");
  CHECK(order > 1.9);
  CHECK(order < 2.2);
  CHECK(s.richardson[0] < 1.2e-4);
}

namespace {

// The extrapolation from 513² against the one from 1025²: the estimated error checked directly.
void check_against_1025(double re, double richardson_tol, double order_min) {
  // At 1025² the transport residual stops near 4e-9 (roundoff of Re ∇²_h ω, ω ~ 1/h at the lid): tolerance 1e-8.
  const Sequence s = convergence_sequence(re, 1024, 4, 1e-8);
  const double richardson_order = std::log2(s.richardson[0] / s.richardson[1]);
  MESSAGE("Re " << re << ": extrapolated 513² vs extrapolated 1025²: " << s.richardson[1] << ", order of the "
                << "extrapolated levels " << richardson_order);
  CHECK(s.richardson[1] < richardson_tol);
  CHECK(richardson_order > order_min);
}

}  // namespace

TEST_CASE("reference cavity: Re = 100 extrapolated 513^2 against 1025^2 (skipped by default)" * doctest::skip()) {
  check_against_1025(100.0, 2e-5, 2.7);  // measured 1.18e-5 (from 1.03e-4: order 3.13)
}

TEST_CASE("reference cavity: Re = 1000 extrapolated 513^2 against 1025^2 (skipped by default)" * doctest::skip()) {
  // Measured 1.06e-4 (from 1.15e-3: order 3.44); the 513² reference at Re = 1000 is ~1.1e-4 from the limit.
  check_against_1025(1000.0, 1.5e-4, 2.7);
}
