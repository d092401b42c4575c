// Tests of the lid-driven cavity reference: interpolation, the corner flow it subtracts, second-order
// convergence under grid refinement at Re = 100 (65² -> 129² -> 257²) up to the lid's corners, and agreement
// with Ghia, Ghia & Shin (1982) at Re = 100 and 1000 and with Botella & Peyret (1998) at Re = 1000. The
// accuracy of the default reference (513² extrapolated) is tested in test_reference_cavity_accuracy.cpp. The
// 513² Re = 1000 comparison (~110 s: four solves) is a skipped-by-default case:
//   jetpinn_tests -tc='*Re = 1000 on 513*' --no-skip
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
#include "references/cavity_corner_flow.h"
#include "references/cavity_reference.h"

using jetpinn::CavityParams;
using jetpinn::CavitySolution;

namespace {

// One centerline table of Ghia et al.: coordinate (k/128) and the values for Re = 100, 400, 1000.
struct GhiaTable {
  std::vector<double> coord;
  std::vector<std::vector<double>> values;  // [row][0: Re 100, 1: Re 400, 2: Re 1000]
};

GhiaTable read_ghia(const std::string& file) {
  const std::string path = std::string(JETPINN_TEST_DATA) + "/ghia1982/" + file;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  GhiaTable t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> row;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    REQUIRE(row.size() == 4);
    // Ghia's coordinates are grid nodes k/128 printed to 4 decimals (0.0547 is 7/128): compare at k/128.
    t.coord.push_back(std::round(row[0] * 128.0) / 128.0);
    t.values.push_back({row[1], row[2], row[3]});
  }
  REQUIRE(t.coord.size() == 17);
  return t;
}

struct Deviation {
  double u = 0.0, v = 0.0;
};

// Largest |ours − Ghia| along both centerlines for one Reynolds column, skipping the entries the data README
// lists as doubtful: u(y = 0.0703) at Re = 100 (fine grids give about −0.0466), v(x = 0.9063) at Re = 400.
Deviation ghia_deviation(const CavitySolution& s, const GhiaTable& u_table, const GhiaTable& v_table, int column) {
  Deviation d;
  for (std::size_t i = 0; i < u_table.coord.size(); ++i) {
    if (column == 0 && u_table.coord[i] == 9.0 / 128.0) continue;
    d.u = std::max(d.u, std::abs(s.u_at(0.5, u_table.coord[i]) - u_table.values[i][column]));
  }
  for (std::size_t i = 0; i < v_table.coord.size(); ++i) {
    if (column == 1 && v_table.coord[i] == 116.0 / 128.0) continue;
    d.v = std::max(d.v, std::abs(s.v_at(v_table.coord[i], 0.5) - v_table.values[i][column]));
  }
  return d;
}

// Botella & Peyret (1998), Computers & Fluids 27(4):421-433, Tables 9 and 10: Re = 1000 by a Chebyshev
// collocation method (N = 160) with the leading terms of the corner singularities subtracted, accurate to the
// digits given; at the decimal coordinates printed there.
const double BP_U_Y[] = {0.0547, 0.0625, 0.0703, 0.1016, 0.1719, 0.2813, 0.4531, 0.5,
                         0.6172, 0.7344, 0.8516, 0.9531, 0.9609, 0.9688, 0.9766};
const double BP_U[] = {-0.1812881, -0.2023300, -0.2228955, -0.3004561, -0.3885691, -0.2803696, -0.1081999, -0.0620561,
                       0.0570178,  0.1886747,  0.3372212,  0.4723329,  0.5169277,  0.5808359,  0.6644227};
const double BP_V_X[] = {0.0625, 0.0703, 0.0781, 0.0938, 0.1563, 0.2266, 0.2344, 0.5,
                         0.8047, 0.8594, 0.9063, 0.9453, 0.9531, 0.9609, 0.9688};
const double BP_V[] = {0.2807056,  0.2962703,  0.3099097,  0.3330442,  0.3769189,  0.3339924,  0.3253592, 0.0257995,
                       -0.3202137, -0.4264545, -0.5264392, -0.4103754, -0.3553213, -0.2936869, -0.2279225};

double botella_deviation(const CavitySolution& s) {
  double d = 0.0;
  for (int i = 0; i < 15; ++i) {
    d = std::max(d, std::abs(s.u_at(0.5, BP_U_Y[i]) - BP_U[i]));
    d = std::max(d, std::abs(s.v_at(BP_V_X[i], 0.5) - BP_V[i]));
  }
  return d;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Ghia's values come from a 129² grid and differ from fine-grid solutions by up to ~1-2% of the lid velocity at
// the extrema (data README); 2% is the agreement the reference is asked to show.
constexpr double GHIA_TOL = 0.02;

}  // namespace

TEST_CASE("reference cavity: interpolation is exact for cubics and at nodes") {
  CavitySolution s;
  s.n = 8;
  std::vector<double> field(81);
  const auto cubic = [](double x, double y) { return 1.0 + x - 2 * y + x * x * y - 3 * x * x * x + y * y * y + x * y * y * x * y; };
  for (int i = 0; i <= 8; ++i)
    for (int j = 0; j <= 8; ++j) field[i * 9 + j] = cubic(i / 8.0, j / 8.0);
  // x³, y³, x²y and x²y² · ... : every term has degree <= 3 in x and in y separately, which tensor-product cubic
  // interpolation reproduces exactly (up to roundoff, 1e-13 on values of size ~5).
  double worst = 0.0;
  for (int a = 0; a <= 40; ++a)
    for (int b = 0; b <= 40; ++b) {
      const double x = a / 40.0, y = b / 40.0;
      worst = std::max(worst, std::abs(s.interpolate(field, x, y) - cubic(x, y)));
    }
  CHECK(worst < 1e-13);
  CHECK(s.interpolate(field, 3 / 8.0, 5 / 8.0) == field[3 * 9 + 5]);
  CHECK_THROWS_AS(s.interpolate(field, 1.1, 0.5), jetpinn::Error);
  CHECK_THROWS_AS(s.interpolate(std::vector<double>(10), 0.5, 0.5), jetpinn::Error);
  CavityParams bad;
  bad.n = 2;
  CHECK_THROWS_AS(jetpinn::solve_cavity(bad), jetpinn::Error);
}

TEST_CASE("reference cavity: the corner flow is the Stokes flow of a sliding lid on a wall at rest") {
  // Against central differences of ψ_c and ω_c with step H = 1e-4. A k-th derivative of ψ_c grows like r^(1−k)
  // at distance r from a corner and the differences err by ~(H/r)² of it, so each check is scaled by r^(k−1):
  // measured worst 5.8e-5 (∇²ω_c at r = 0.03).
  constexpr double H = 1e-4, FD_TOL = 2e-4;
  double worst = 0.0;
  for (const double x : {0.05, 0.3, 0.5, 0.8, 0.97})
    for (const double y : {0.1, 0.6, 0.95, 0.99}) {
      const auto at = [](double a, double b) { return jetpinn::cavity_corner_flow(a, b); };
      const jetpinn::CornerFlow c = at(x, y), e = at(x + H, y), w = at(x - H, y), n = at(x, y + H), s = at(x, y - H);
      const double r = std::min(std::hypot(x, 1 - y), std::hypot(1 - x, 1 - y));
      const double scaled[] = {
          c.u - (n.psi - s.psi) / (2 * H),
          c.v + (e.psi - w.psi) / (2 * H),
          r * (c.psi_xx - (e.psi - 2 * c.psi + w.psi) / (H * H)),
          r * (c.psi_yy - (n.psi - 2 * c.psi + s.psi) / (H * H)),
          r * (c.psi_xy - (e.u - w.u) / (2 * H)),  // ψ_xy = ∂u/∂x = −∂v/∂y
          r * (c.psi_xy + (n.v - s.v) / (2 * H)),
          r * (c.omega + c.psi_xx + c.psi_yy),  // ω = −∇²ψ, both exact
          r * r * (c.omega_x - (e.omega - w.omega) / (2 * H)),
          r * r * (c.omega_y - (n.omega - s.omega) / (2 * H)),
          r * r * r * (e.omega + w.omega + n.omega + s.omega - 4 * c.omega) / (H * H),  // ∇²ω_c = 0 (Stokes)
      };
      for (const double d : scaled) worst = std::max(worst, std::abs(d));
    }
  MESSAGE("corner flow vs differences, scaled: " << worst << " (tolerance " << FD_TOL << ")");
  CHECK(worst < FD_TOL);
  // On the lid ψ_c = 0 and u_c = 2 (each corner's term slides with the lid), v_c = 0; mirror symmetry.
  for (const double x : {0.01, 0.4, 0.99}) {
    const jetpinn::CornerFlow lid = jetpinn::cavity_corner_flow(x, 1.0);
    CHECK(std::abs(lid.psi) < 1e-15);
    CHECK(lid.u == doctest::Approx(2.0).epsilon(1e-14));
    CHECK(std::abs(lid.v) < 1e-15);
    const jetpinn::CornerFlow a = jetpinn::cavity_corner_flow(x, 0.3), b = jetpinn::cavity_corner_flow(1 - x, 0.3);
    CHECK(a.psi == doctest::Approx(b.psi).epsilon(1e-14));
    CHECK(a.v == doctest::Approx(-b.v).epsilon(1e-14));
  }
  // No slip on the side walls: on x = 0 the left corner's term is 0 with zero velocity, so there ψ_c is the
  // right corner's term alone, smooth near (0, 1) where it is 0 and slides with the lid: ψ_c(0, 1 − η) = −η + O(η²),
  // u_c = 1 + O(η), v_c = O(η). A left term with f(π/2) or f'(π/2) nonzero would leave O(η) in ψ_c or O(1) in v_c.
  for (const double eta : {1e-6, 1e-4}) {
    const jetpinn::CornerFlow w = jetpinn::cavity_corner_flow(0.0, 1.0 - eta);
    CHECK(std::abs(w.psi + eta) < 10 * eta * eta);
    CHECK(std::abs(w.u - 1.0) < 10 * eta);
    CHECK(std::abs(w.v) < 10 * eta);
  }
}

TEST_CASE("reference cavity: Re = 100 converges at second order up to the lid corners and matches Ghia et al.") {
  const auto t0 = std::chrono::steady_clock::now();
  const GhiaTable u_table = read_ghia("ghia1982_u_vertical_centerline.csv");
  const GhiaTable v_table = read_ghia("ghia1982_v_horizontal_centerline.csv");
  CavityParams p;
  p.reynolds = 100.0;
  p.n = 256;
  const std::vector<CavitySolution> grids = jetpinn::solve_cavity_levels(p, 3);
  REQUIRE(grids.size() == 3);
  for (const CavitySolution& s : grids) {
    CHECK(s.residual_psi < p.tolerance);
    CHECK(s.residual_omega < p.tolerance);
  }
  // The scoring metric (relative L2 of (u, v)) between grids, on the 65² nodes all three share, corners'
  // neighbours included; second order means a ratio of 4. Measured 4.6e-3, 1.1e-3 (order 2.07). The plain
  // scheme, whose velocity jumps at the corners, gives 1.6e-2, 5.6e-3 (order 1.53).
  const double d1 = jetpinn::cavity_velocity_difference(grids[0], grids[1], 64);
  const double d2 = jetpinn::cavity_velocity_difference(grids[1], grids[2], 64);
  const double order = std::log2(d1 / d2);
  CavityParams plain = p;
  plain.subtract_corners = false;
  const std::vector<CavitySolution> plain_grids = jetpinn::solve_cavity_levels(plain, 3);
  const double plain_order = std::log2(jetpinn::cavity_velocity_difference(plain_grids[0], plain_grids[1], 64) /
                                       jetpinn::cavity_velocity_difference(plain_grids[1], plain_grids[2], 64));
  MESSAGE("velocity changes 65²->129²: " << d1 << ", 129²->257²: " << d2 << ", observed order " << order
                                        << " (plain scheme: " << plain_order << ")");
  CHECK(order > 1.9);
  CHECK(order < 2.2);
  CHECK(d2 < 1.3e-3);  // the size too: output velocities without ψ_c's exact part keep the order, triple this
  CHECK(plain_order < 1.7);
  const Deviation dev = ghia_deviation(grids[2], u_table, v_table, 0);
  MESSAGE("257² vs Ghia: max |du| " << dev.u << ", max |dv| " << dev.v << " (tolerance " << GHIA_TOL << "); "
                                    << seconds_since(t0) << " s");
  CHECK(dev.u < GHIA_TOL);
  CHECK(dev.v < GHIA_TOL);
  // The doubtful entry: fine grids give about −0.0466 at y = 9/128, not Ghia's −0.04775 (data README).
  CHECK(std::abs(grids[2].u_at(0.5, 9.0 / 128.0) - (-0.0466)) < 5e-4);
  // Boundary conditions of the returned fields: lid u = 1, walls at rest, ψ = 0 on the boundary.
  const CavitySolution& s = grids[2];
  bool walls = true;
  for (int k = 0; k <= s.n; ++k) {
    const auto at = [&](int i, int j) { return static_cast<std::size_t>(i) * (s.n + 1) + j; };
    const double lid = (k == 0 || k == s.n) ? 0.0 : 1.0;
    walls = walls && s.u[at(k, s.n)] == lid && s.u[at(k, 0)] == 0.0 && s.u[at(0, k)] == 0.0 && s.u[at(s.n, k)] == 0.0;
    walls = walls && s.v[at(k, s.n)] == 0.0 && s.v[at(k, 0)] == 0.0 && s.v[at(0, k)] == 0.0 && s.v[at(s.n, k)] == 0.0;
    walls = walls && s.psi[at(k, s.n)] == 0.0 && s.psi[at(k, 0)] == 0.0 && s.psi[at(0, k)] == 0.0 && s.psi[at(s.n, k)] == 0.0;
  }
  CHECK(walls);
}

namespace {

// Re = 1000 from the finest grid n (extrapolated with n/2 unless plain) compared with both benchmarks. Against
// the spectral solution of Botella & Peyret the deviation is our discretisation error; theirs is the same
// problem (the plain lid: they subtract the corner terms and solve for the rest), so any converging scheme
// approaches their values.
double re1000_botella(int n, bool subtract_corners, bool extrapolate, const std::string& label) {
  const GhiaTable u_table = read_ghia("ghia1982_u_vertical_centerline.csv");
  const GhiaTable v_table = read_ghia("ghia1982_v_horizontal_centerline.csv");
  CavityParams p;
  p.reynolds = 1000.0;
  p.n = n;
  p.subtract_corners = subtract_corners;
  const CavitySolution s = extrapolate ? jetpinn::solve_cavity_extrapolated(p) : jetpinn::solve_cavity(p);
  CHECK(s.residual_psi < p.tolerance);
  CHECK(s.residual_omega < p.tolerance);
  const Deviation dev = ghia_deviation(s, u_table, v_table, 2);
  const double bp = botella_deviation(s);
  MESSAGE(label << " (" << s.seconds << " s): vs Ghia max |du| " << dev.u << ", max |dv| " << dev.v
                << " (tolerance " << GHIA_TOL << "); vs Botella & Peyret max " << bp);
  CHECK(dev.u < GHIA_TOL);
  CHECK(dev.v < GHIA_TOL);
  return bp;
}

}  // namespace

TEST_CASE("reference cavity: Re = 1000 extrapolated from 257^2 against Ghia et al. and Botella & Peyret") {
  // Measured 1.76e-4 (the raw 257² solution: 5.1e-3).
  const double bp = re1000_botella(256, true, true, "Re 1000, 257² and 129² extrapolated");
  CHECK(bp < 2.5e-4);
}

TEST_CASE("reference cavity: Re = 1000 on 513^2 against Botella & Peyret (long and skipped by default)" *
          doctest::skip()) {
  // Largest deviation over the 30 tabulated values. Measured: plain lid 1.26e-3 raw and 2.57e-5 extrapolated;
  // corner flow subtracted 1.36e-3 raw and 2.63e-5 extrapolated (the default reference). The centrelines lie at
  // least 0.5 from the lid's corners, where the plain lid's error still converges at second order, so
  // extrapolation works there with or without the subtraction; it is the full 129² grid, whose nodes come within
  // 0.011 of the corners, that needs the subtraction (test "Re = 100 converges at second order up to the lid
  // corners" and test_reference_cavity_accuracy.cpp).
  const double plain = re1000_botella(512, false, false, "Re 1000, plain 513²");
  const double plain_extrapolated = re1000_botella(512, false, true, "Re 1000, plain 513² and 257² extrapolated");
  const double subtracted = re1000_botella(512, true, false, "Re 1000, 513² corners subtracted");
  const double reference = re1000_botella(512, true, true, "Re 1000, 513² and 257² extrapolated");
  CHECK(plain < 1.5e-3);
  CHECK(plain_extrapolated < 5e-5);
  CHECK(subtracted < 1.5e-3);
  CHECK(reference < 5e-5);
}
