// Tests of the Gauss–Hermite rule and the Burgers (Cole–Hopf) reference: quadrature exactness, convergence in
// the number of nodes near the shock front, exact initial/boundary/symmetry properties, the PDE residual by
// finite differences, and the published steepest slope (Basdevant et al. 1986).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "check.h"
#include "references/burgers_reference.h"
#include "references/gauss_hermite.h"

using jetpinn::BurgersParams;
using jetpinn::BurgersReference;

namespace {

constexpr double PI = std::numbers::pi;

// Σ w_i g(s_i) for a rule kept in log-weights.
template <class G>
double integrate(const jetpinn::GaussHermiteRule& r, G g) {
  double sum = 0.0;
  for (std::size_t i = 0; i < r.nodes.size(); ++i) sum += std::exp(r.log_weights[i]) * g(r.nodes[i]);
  return sum;
}

BurgersReference with_nodes(int n) {
  BurgersParams p;
  p.quadrature_nodes = n;
  return BurgersReference(p);
}

}  // namespace

TEST_CASE("reference burgers: Gauss-Hermite rule is exact to degree 2n-1 and stays finite for large n") {
  // Moments of exp(−s²): ∫ s^(2k) e^{−s²} ds = Γ(k + 1/2), k <= 8. Tolerance 1e-14 relative: a few roundings
  // per node in sums of positive terms (measured worst 2.0e-15).
  constexpr double MOMENT_TOL = 1e-14;
  double worst_moment = 0.0;
  const double sqrt_pi = std::sqrt(PI);
  {
    const auto r = jetpinn::gauss_hermite_rule(2);
    CHECK(r.nodes[1] == doctest::Approx(1.0 / std::sqrt(2.0)).epsilon(1e-15));
    CHECK(std::exp(r.log_weights[0]) == doctest::Approx(sqrt_pi / 2).epsilon(1e-15));
  }
  for (const int n : {1, 3, 8, 33, 128, 600}) {
    const auto r = jetpinn::gauss_hermite_rule(n);
    REQUIRE(static_cast<int>(r.nodes.size()) == n);
    bool antisymmetric = true, ascending = true, finite = true;
    for (int i = 0; i < n; ++i) {
      antisymmetric = antisymmetric && r.nodes[i] == -r.nodes[n - 1 - i] && r.log_weights[i] == r.log_weights[n - 1 - i];
      ascending = ascending && (i == 0 || r.nodes[i] > r.nodes[i - 1]);
      finite = finite && std::isfinite(r.nodes[i]) && std::isfinite(r.log_weights[i]);
    }
    CHECK(antisymmetric);
    CHECK(ascending);
    CHECK(finite);
    for (int k = 0; 2 * k <= std::min(2 * n - 1, 16); ++k) {
      const double moment = integrate(r, [k](double s) { return std::pow(s, 2 * k); });
      const double exact = std::tgamma(k + 0.5);
      worst_moment = std::max(worst_moment, std::abs(moment - exact) / exact);
    }
    // A non-polynomial integrand: ∫ cos(s) e^{−s²} ds = sqrt(π) e^{−1/4}; converged for n >= 33.
    if (n >= 33) CHECK(integrate(r, [](double s) { return std::cos(s); }) == doctest::Approx(sqrt_pi * std::exp(-0.25)).epsilon(1e-14));
  }
  MESSAGE("worst relative moment error " << worst_moment << " (tolerance " << MOMENT_TOL << ")");
  CHECK(worst_moment <= MOMENT_TOL);
  // n = 600 reaches s ~ ±34, where exp(−s²) ~ 1e-500 underflows a double; the log-weights do not.
  CHECK(jetpinn::gauss_hermite_rule(600).log_weights.front() < -1000.0);
}

TEST_CASE("reference burgers: quadrature converges near the front (n vs 2n nodes)") {
  // Near the front (x in [−0.01, 0.01], t in [1/π, 1]) the integrand exp(−s² − cos(π(x − c s))/(2πν)) is
  // bimodal with peaks near s = ±6.5 at t = 1, the hardest place for the rule. Measured max |u_n − u_2n| there
  // (and on a 0.005-spaced x grid over [−1, 1] at 14 times, same numbers): n = 32: 4e-3, 64: 1.7e-10,
  // 96 and beyond: roundoff (~1e-14). The default 128 nodes is converged to roundoff; the required ~1e-10.
  constexpr double CONVERGED_TOL = 1e-12;  // default n vs 2n: measured ~1e-14
  const BurgersReference coarse = with_nodes(64), fine = BurgersReference(), finer = with_nodes(2 * BurgersParams{}.quadrature_nodes);
  double d_64_128 = 0.0, d_128_256 = 0.0;
  for (const double t : {1.0 / PI, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99, 1.0})
    for (int k = -200; k <= 200; ++k) {
      const double x = k * 5e-5;
      const double u = fine.u(t, x);
      d_64_128 = std::max(d_64_128, std::abs(coarse.u(t, x) - u));
      d_128_256 = std::max(d_128_256, std::abs(finer.u(t, x) - u));
    }
  MESSAGE("max |u_64 − u_128| = " << d_64_128 << ", max |u_128 − u_256| = " << d_128_256 << " (tolerance "
                                   << CONVERGED_TOL << ")");
  CHECK(d_128_256 < CONVERGED_TOL);
  CHECK(d_64_128 < 1e-9);  // 64 nodes already meet ~1e-10 (measured 1.7e-10)
}

TEST_CASE("reference burgers: initial condition with boundary values and odd symmetry") {
  const BurgersReference ref;
  bool initial_exact = true;
  for (int k = 0; k <= 100; ++k) {
    const double x = -1.0 + k / 50.0;
    initial_exact = initial_exact && ref.u(0.0, x) == -std::sin(PI * x);
  }
  CHECK(initial_exact);
  // u(t, ±1) = 0 and u(t, 0) = 0, and u(t, −x) = −u(t, x): the kernel f is even and the nodes antisymmetric, so
  // these hold up to the rounding of sin(π(x − c s)) for mirrored arguments. Tolerance 1e-13 (measured 1.9e-15).
  constexpr double SYMMETRY_TOL = 1e-13;
  double worst_boundary = 0.0, worst_odd = 0.0;
  for (int j = 1; j <= 20; ++j) {
    const double t = j * 0.05;
    worst_boundary = std::max({worst_boundary, std::abs(ref.u(t, -1.0)), std::abs(ref.u(t, 1.0)), std::abs(ref.u(t, 0.0))});
    for (int k = 1; k < 40; ++k) {
      const double x = k / 40.0;
      worst_odd = std::max(worst_odd, std::abs(ref.u(t, -x) + ref.u(t, x)));
    }
  }
  MESSAGE("max |u(t, ±1)|, |u(t, 0)| = " << worst_boundary << "; max |u(t, −x) + u(t, x)| = " << worst_odd);
  CHECK(worst_boundary < SYMMETRY_TOL);
  CHECK(worst_odd < SYMMETRY_TOL);
  CHECK_THROWS_AS(ref.u(-0.1, 0.0), jetpinn::Error);
}

TEST_CASE("reference burgers: PDE residual by finite differences at smooth points") {
  // u_t + u u_x − ν u_xx with fourth-order central differences, step h = 1e-3 in t and x, at points away from
  // the front. Truncation ~ h⁴ u^(6)/90 ~ 1e-10 where derivatives are largest (t = 0.1, |x| = 0.3), roundoff
  // ~ 1e-16/h ~ 1e-13; measured worst 9.2e-10. Tolerance 1e-8 against terms of size ~1.
  constexpr double RESIDUAL_TOL = 1e-8;
  const BurgersReference ref;
  const double h = 1e-3, nu = ref.params().nu;
  double worst = 0.0, worst_slope = 0.0;
  for (const double t : {0.1, 0.25, 0.5, 0.75, 0.95})
    for (const double x : {-0.9, -0.6, -0.3, 0.3, 0.6, 0.9}) {
      const auto d1 = [h](double m2, double m1, double p1, double p2) { return (-p2 + 8 * p1 - 8 * m1 + m2) / (12 * h); };
      const double u = ref.u(t, x);
      const double u_t = d1(ref.u(t - 2 * h, x), ref.u(t - h, x), ref.u(t + h, x), ref.u(t + 2 * h, x));
      const double um2 = ref.u(t, x - 2 * h), um1 = ref.u(t, x - h), up1 = ref.u(t, x + h), up2 = ref.u(t, x + 2 * h);
      const double u_x = d1(um2, um1, up1, up2);
      const double u_xx = (-up2 + 16 * up1 - 30 * u + 16 * um1 - um2) / (12 * h * h);
      worst = std::max(worst, std::abs(u_t + u * u_x - nu * u_xx));
      worst_slope = std::max(worst_slope, std::abs(u_x - ref.u_and_u_x(t, x).u_x));
    }
  MESSAGE("max |u_t + u u_x − ν u_xx| = " << worst << " (tolerance " << RESIDUAL_TOL << "); exact u_x vs FD: " << worst_slope);
  CHECK(worst < RESIDUAL_TOL);
  CHECK(worst_slope < 1e-8);
}

TEST_CASE("reference burgers: steepest slope 152.00516 at t = 1.6037/pi (Basdevant et al. 1986)") {
  // Basdevant et al., Computers & Fluids 14(1):23-41, 1986: the slope at the origin peaks at
  // |u_x| = 152.00516 at t = 1.6037/π. Golden-section search of |u_x(t, 0)| (the exact derivative of the
  // quadrature) over t in [0.4, 0.7]; tolerances are half a unit in the last published digit.
  const BurgersReference ref;
  const auto slope = [&](double t) { return -ref.u_and_u_x(t, 0.0).u_x; };
  double a = 0.4, b = 0.7;
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  for (int it = 0; it < 60; ++it) {
    const double c = b - g * (b - a), d = a + g * (b - a);
    (slope(c) > slope(d) ? b : a) = (slope(c) > slope(d) ? d : c);
  }
  const double t_star = 0.5 * (a + b), s_star = slope(t_star);
  MESSAGE("max |u_x(t, 0)| = " << std::to_string(s_star) << " at t = " << t_star << " = " << t_star * PI << "/π; at t = 1/π: "
                               << slope(1.0 / PI));
  CHECK(std::abs(s_star - 152.00516) <= 5e-6);
  CHECK(std::abs(t_star * PI - 1.6037) <= 5e-5);
  // The exact derivative against a fourth-order difference (h = 1e-5) on the front at t = 0.6: the slope there
  // is ~144 over a width ~1/144, so u^(5) ~ 144⁵ ~ 6e10 and truncation ~ h⁴ u^(5)/30 ~ 2e-11; roundoff
  // ~ 1e-16/h = 1e-11. Tolerance 1e-8 relative (~1e-6 absolute); measured agreement ~3e-10.
  for (const double x : {0.0, 0.002, -0.005}) {
    const double t = 0.6, h = 1e-5;
    const double fd = (-ref.u(t, x + 2 * h) + 8 * ref.u(t, x + h) - 8 * ref.u(t, x - h) + ref.u(t, x - 2 * h)) / (12 * h);
    CHECK(ref.u_and_u_x(t, x).u_x == doctest::Approx(fd).epsilon(1e-8));
  }
}

TEST_CASE("reference burgers: the classic 100 x 256 grid") {
  const auto g = BurgersReference().classic_grid();
  REQUIRE(g.t.size() == 100);
  REQUIRE(g.x.size() == 256);
  REQUIRE(g.u.size() == 100 * 256);
  CHECK(g.t.front() == 0.0);
  CHECK(g.t.back() == 0.99);
  CHECK(g.t[1] == 0.01);
  CHECK(g.x.front() == -1.0);
  CHECK(g.x.back() == 1.0);
  CHECK(g.x[1] == 2.0 / 255.0 - 1.0);
  // Row j is u(t_j, ·): the first row is the initial condition, every value is finite and in [−1, 1], and the
  // grid agrees with pointwise evaluation.
  const BurgersReference ref;
  bool ok = true;
  for (std::size_t j = 0; j < g.t.size(); ++j)
    for (std::size_t k = 0; k < g.x.size(); ++k) {
      const double v = g.at(j, k);
      ok = ok && std::isfinite(v) && std::abs(v) <= 1.0 && v == ref.u(g.t[j], g.x[k]);
    }
  CHECK(ok);
  CHECK(g.at(0, 64) == -std::sin(PI * g.x[64]));
  const auto pts = ref.u_at({0.5, 0.99}, {0.25, -0.5});
  CHECK(pts[0] == ref.u(0.5, 0.25));
  CHECK(pts[1] == ref.u(0.99, -0.5));
}
