// Tests of the ETDRK4 stepper and the Allen–Cahn reference: exactness on linear problems (the contour-integral
// phi functions), fourth-order convergence, convergence of the reference in dt and in Fourier modes, and its
// known behaviour (bounds, symmetry, plateaus). Each tolerance states where it comes from and what a run used.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <vector>

#include "check.h"
#include "references/allen_cahn_reference.h"
#include "references/etdrk4.h"

using jetpinn::AllenCahnParams;
using jetpinn::FourierEtdrk4;
using jetpinn::SpaceTimeGrid;

namespace {

constexpr double PI = std::numbers::pi;

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// Samples of f at the n collocation points x_j = −1 + 2j/n of the period-2 interval.
template <class F>
std::vector<double> sample(int n, F f) {
  std::vector<double> u(n);
  for (int j = 0; j < n; ++j) u[j] = f(-1.0 + 2.0 * j / n);
  return u;
}

// The symbol −ε (π m)² of ε ∂xx on period 2, modes m = 0..n/2.
std::vector<double> diffusion_symbol(int n, double eps) {
  std::vector<double> s(n / 2 + 1);
  for (int m = 0; m <= n / 2; ++m) s[m] = -eps * PI * PI * m * m;
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

SpaceTimeGrid solve(int modes, double dt) {
  AllenCahnParams p;
  p.modes = modes;
  p.dt = dt;
  return jetpinn::allen_cahn_reference(p);
}

}  // namespace

TEST_CASE("reference allen-cahn: ETDRK4 is exact on linear problems (heat equation and constant forcing)") {
  // u_t = ε u_xx + g(x): with N ≡ g every ETDRK4 stage sees the same N, and the update reduces to
  // v_new = e^{hL} v + h φ1(hL) ĝ, the exact solution; so the error is that of the contour-integral phi
  // functions and of the FFTs only. The constant part of g sits on the mode with L = 0, where the closed forms
  // of the phi functions are 0/0. Tolerance 1e-12: roundoff of 40 FFT round trips of size 64 on O(1) data
  // (measured ~1e-15).
  constexpr double ROUNDOFF_TOL = 1e-12;
  const int n = 64;
  const double eps = 0.01, dt = 0.1, t_end = 1.0;
  const long steps = 10;
  const auto u0 = [](double x) { return std::cos(PI * x) + 0.3 * std::sin(3 * PI * x); };

  // Heat equation alone (N ≡ 0): each Fourier mode decays by exp(−ε π² m² t).
  {
    FourierEtdrk4 stepper(diffusion_symbol(n, eps), dt, [](const std::vector<double>& u, std::vector<double>& nu) {
      std::fill(nu.begin(), nu.end(), 0.0 * u.size());
    });
    std::vector<double> u = sample(n, u0);
    stepper.advance(u, steps);
    const auto exact = sample(n, [&](double x) {
      return std::exp(-eps * PI * PI * t_end) * std::cos(PI * x) + 0.3 * std::exp(-9 * eps * PI * PI * t_end) * std::sin(3 * PI * x);
    });
    const double err = max_abs_diff(u, exact);
    MESSAGE("heat equation: max error " << err << " (tolerance " << ROUNDOFF_TOL << ")");
    CHECK(err < ROUNDOFF_TOL);
  }
  // With forcing g = 0.5 + sin(2πx): u = e^{λt}û0 + (e^{λt} − 1)/λ ĝ per mode, and 0.5 t on the mean mode.
  {
    const auto g = [](double x) { return 0.5 + std::sin(2 * PI * x); };
    const std::vector<double> g_samples = sample(n, g);
    FourierEtdrk4 stepper(diffusion_symbol(n, eps), dt, [&](const std::vector<double>&, std::vector<double>& nu) {
      nu = g_samples;
    });
    std::vector<double> u = sample(n, u0);
    stepper.advance(u, steps);
    const double lam1 = -eps * PI * PI, lam2 = -4 * eps * PI * PI, lam3 = -9 * eps * PI * PI;
    const auto exact = sample(n, [&](double x) {
      return std::exp(lam1 * t_end) * std::cos(PI * x) + 0.3 * std::exp(lam3 * t_end) * std::sin(3 * PI * x) +
             0.5 * t_end + (std::exp(lam2 * t_end) - 1.0) / lam2 * std::sin(2 * PI * x);
    });
    const double err = max_abs_diff(u, exact);
    MESSAGE("constant forcing: max error " << err << " (tolerance " << ROUNDOFF_TOL << ")");
    CHECK(err < ROUNDOFF_TOL);
  }
}

TEST_CASE("reference allen-cahn: ETDRK4 converges at fourth order when the nonlinear slot carries a u") {
  // u_t = ε u_xx + a u with a u treated as the 'nonlinear' term: the exact solution multiplies each mode by
  // exp((a − ε π² m²) t), and ETDRK4 is no longer exact, its global error is O(h⁴). Halving h must divide the
  // error by 16; the band [14, 18] allows the higher-order terms at these step sizes (measured 14.4, 15.2, 15.6).
  const int n = 32;
  const double eps = 0.01, a = 5.0, t_end = 1.0;
  const auto u0 = [](double x) { return 1.0 + std::cos(PI * x) + 0.2 * std::sin(2 * PI * x); };
  const auto exact = sample(n, [&](double x) {
    return std::exp(a * t_end) + std::exp((a - eps * PI * PI) * t_end) * std::cos(PI * x) +
           0.2 * std::exp((a - 4 * eps * PI * PI) * t_end) * std::sin(2 * PI * x);
  });
  std::vector<double> errors;
  for (const long steps : {20L, 40L, 80L, 160L}) {
    FourierEtdrk4 stepper(diffusion_symbol(n, eps), t_end / steps, [a](const std::vector<double>& u, std::vector<double>& nu) {
      for (std::size_t i = 0; i < u.size(); ++i) nu[i] = a * u[i];
    });
    std::vector<double> u = sample(n, u0);
    stepper.advance(u, steps);
    errors.push_back(max_abs_diff(u, exact) / std::exp(a * t_end));  // relative to the solution's size
  }
  for (std::size_t i = 1; i < errors.size(); ++i) {
    const double ratio = errors[i - 1] / errors[i];
    MESSAGE("h = 1/" << (20 << i) << ": relative error " << errors[i] << ", ratio to the previous " << ratio);
    CHECK(ratio > 14.0);
    CHECK(ratio < 18.0);
  }
}

TEST_CASE("reference allen-cahn: output grid and the initial condition at t = 0") {
  const SpaceTimeGrid g = jetpinn::allen_cahn_reference();
  REQUIRE(g.t.size() == 201);
  REQUIRE(g.x.size() == 512);
  REQUIRE(g.u.size() == 201 * 512);
  bool grid_ok = true;
  for (int j = 0; j <= 200; ++j) grid_ok = grid_ok && g.t[j] == j / 200.0;
  for (int k = 0; k < 512; ++k) grid_ok = grid_ok && g.x[k] == -1.0 + k / 256.0;
  CHECK(grid_ok);
  // The t = 0 row is u0 itself (not its truncated Fourier series), bit for bit.
  bool exact = true;
  for (int k = 0; k < 512; ++k) exact = exact && g.at(0, k) == g.x[k] * g.x[k] * std::cos(PI * g.x[k]);
  CHECK(exact);
  CHECK(std::all_of(g.u.begin(), g.u.end(), [](double v) { return std::isfinite(v); }));
  CHECK_THROWS_AS(solve(1000, 1.0 / 2000), jetpinn::Error);   // modes not a multiple of 512
  CHECK_THROWS_AS(solve(4096, 1.0 / 1100), jetpinn::Error);   // dt does not divide 1/200 (5.5 steps)
}

TEST_CASE("reference allen-cahn: halving dt changes the solution by less than 1e-8") {
  // Required: the default dt = 1/2000 is small enough that dt/2 changes the 201 x 512 output by < 1e-8 (max abs).
  // Measured 6.3e-12 (largest at t = 0.005, where the kink of the periodic initial condition at x = ±1 is
  // still sharp; ETDRK4's fourth order holds: dt 1/400 -> 1/800 changes it by 4.7e-9, 1/1000 -> 1/2000 by 1.0e-10).
  constexpr double DT_HALVING_TOL = 1e-8;
  const auto t0 = std::chrono::steady_clock::now();
  const AllenCahnParams defaults;
  const SpaceTimeGrid base = jetpinn::allen_cahn_reference();
  const SpaceTimeGrid half = solve(defaults.modes, defaults.dt / 2);
  const double change = max_abs_diff(base.u, half.u);
  MESSAGE("dt = " << defaults.dt << " vs dt/2: max change " << change << " (tolerance " << DT_HALVING_TOL << "), "
                  << seconds_since(t0) << " s");
  CHECK(change < DT_HALVING_TOL);
}

TEST_CASE("reference allen-cahn: mode refinement converges geometrically to below 1e-10") {
  // Changes of the output when the number of modes doubles (same output points, dt = 1/2000). Measured:
  //   512 -> 1024: 4.1e-4, 1024 -> 2048: 4.3e-5, 2048 -> 4096: 1.6e-7, 4096 -> 8192: 2.7e-12,
  // each the largest at t = 0.005 and x = ±1, where the solution still carries the corner of the initial
  // condition (width sqrt(ε t) = 7e-4); from t = 0.2 on, 512 -> 1024 changes it by 1.4e-6 only. The default
  // 4096 modes is therefore within ~3e-12 of the 8192-mode solution. Tolerance 1e-10 for 4096 -> 8192 leaves
  // room for other compilers' roundoff; each step must also shrink the change (geometric convergence).
  constexpr double MODE_REFINEMENT_TOL = 1e-10;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<double> changes;
  SpaceTimeGrid previous = solve(512, 1.0 / 2000);
  for (const int modes : {1024, 2048, 4096, 8192}) {
    SpaceTimeGrid g = solve(modes, 1.0 / 2000);
    changes.push_back(max_abs_diff(previous.u, g.u));
    MESSAGE((modes / 2) << " -> " << modes << " modes: max change " << changes.back());
    previous = std::move(g);
  }
  for (std::size_t i = 1; i < changes.size(); ++i) CHECK(changes[i] < 0.2 * changes[i - 1]);
  CHECK(changes.front() < 1e-3);  // 512 -> 1024 (measured 4.1e-4): the 512-mode grid is accurate to ~1e-3 only
  CHECK(changes.back() < MODE_REFINEMENT_TOL);
  MESSAGE("4096 -> 8192 used " << changes.back() / MODE_REFINEMENT_TOL << " of the tolerance; " << seconds_since(t0) << " s");
}

TEST_CASE("reference allen-cahn: known behaviour (bounds and symmetry and plateaus at t = 1)") {
  const SpaceTimeGrid g = jetpinn::allen_cahn_reference();
  // Maximum principle: u0 lies in [−1, 1] and ±1 are stable equilibria of 5u − 5u³, so u stays in [−1, 1]
  // (up to the spectral method's roundoff; measured min −1 exactly, the t = 0 row at x = ±1, max 0.99270).
  const auto [lo, hi] = std::minmax_element(g.u.begin(), g.u.end());
  CHECK(*lo >= -1.0 - 1e-12);
  CHECK(*hi <= 1.0 + 1e-12);
  // u0 is even and so is the equation: u(t, x) = u(t, −x); x_k and x_{512−k} are mirror points.
  double asym = 0.0;
  for (int j = 0; j <= 200; ++j)
    for (int k = 1; k < 512; ++k) asym = std::max(asym, std::abs(g.at(j, k) - g.at(j, 512 - k)));
  MESSAGE("max |u(t, x) − u(t, −x)| = " << asym);
  CHECK(asym < 1e-12);  // FFT roundoff on O(1) data
  // At t = 1: plateaus near +1 around |x| = 0.3 (where u0 > 0), near −1 beyond |x| ~ 0.55 and at the ends, and the
  // shallow dip at x = 0 where u0 vanishes to second order. u(1, 0) = 0.0295797210 here; an independent
  // second-order finite-difference solution (16384 points, RK4) gave 0.02957972 and agreed everywhere to
  // 2.8e-6, converging at second order (checked by hand, not in this suite).
  const auto at = [&](double x) { return g.at(200, static_cast<std::size_t>(std::lround((x + 1.0) * 256))); };
  for (const double x : {-0.3, 0.3}) CHECK(at(x) > 0.95);
  for (const double x : {-1.0, -0.75, 0.75}) CHECK(at(x) < -0.99);
  CHECK(at(0.0) == doctest::Approx(0.0295797210).epsilon(1e-8));
  MESSAGE("u(1, 0) = " << at(0.0) << ", u(1, ±0.3) = " << at(0.3) << ", u(1, ±0.75) = " << at(0.75));
}
