// Tests of the lid-driven cavity reference: interpolation, second-order convergence under grid refinement at
// Re = 100 (65² -> 129² -> 257²), and agreement with Ghia, Ghia & Shin (1982) at Re = 100 and 1000 and with
// Botella & Peyret (1998) at Re = 1000. The 513² Re = 1000 solve (~20-40 s) is a skipped-by-default case:
//   jetpinn_tests -tc='*cavity*513*' --no-skip
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
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

// u(0.5, y) and v(x, 0.5) at the Ghia coordinates, one vector (u's first) for grid-to-grid comparisons.
std::vector<double> centerline_values(const CavitySolution& s, const GhiaTable& u_table, const GhiaTable& v_table) {
  std::vector<double> out;
  for (const double y : u_table.coord) out.push_back(s.u_at(0.5, y));
  for (const double x : v_table.coord) out.push_back(s.v_at(x, 0.5));
  return out;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
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
// collocation method (N = 160), accurate to the digits given; at the decimal coordinates printed there.
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

TEST_CASE("reference cavity: Re = 100 converges at second order (65^2 to 257^2) and matches Ghia et al.") {
  const auto t0 = std::chrono::steady_clock::now();
  const GhiaTable u_table = read_ghia("ghia1982_u_vertical_centerline.csv");
  const GhiaTable v_table = read_ghia("ghia1982_v_horizontal_centerline.csv");
  CavityParams p;
  p.reynolds = 100.0;
  p.n = 64;
  std::vector<CavitySolution> grids{jetpinn::solve_cavity(p)};
  while (grids.back().n < 256) {
    const CavitySolution& c = grids.back();
    grids.push_back(jetpinn::solve_cavity_on_grid(2 * c.n, p.reynolds, jetpinn::refine_cavity_field(c, c.psi),
                                                  jetpinn::refine_cavity_field(c, c.omega), p));
  }
  for (const CavitySolution& s : grids) {
    CHECK(s.residual_psi < p.tolerance);
    CHECK(s.residual_omega < p.tolerance);
  }
  // Changes of the 34 centerline values at Ghia's points under refinement; second order means a ratio of 4.
  // Measured: 65² -> 129²: 2.9e-3, 129² -> 257²: 7.1e-4 (order 2.02); the 257² values are then within ~2.4e-4
  // (Richardson: change/3) of the grid-converged solution.
  const auto v64 = centerline_values(grids[0], u_table, v_table), v128 = centerline_values(grids[1], u_table, v_table),
             v256 = centerline_values(grids[2], u_table, v_table);
  const double d1 = max_abs_diff(v64, v128), d2 = max_abs_diff(v128, v256);
  const double order = std::log2(d1 / d2);
  MESSAGE("changes 65²->129²: " << d1 << ", 129²->257²: " << d2 << ", observed order " << order
                                << ", Richardson error estimate of 257²: " << d2 / 3);
  CHECK(order > 1.8);
  CHECK(order < 2.3);
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

// Solves Re = 1000 on the (n+1)^2 grid and compares it with both benchmarks. Against the spectral solution of
// Botella & Peyret the deviation is our discretisation error, second order: measured 7.9e-2, 2.0e-2, 5.1e-3,
// 1.26e-3 on 65², 129², 257², 513².
void check_re1000(int n, double botella_tol) {
  const GhiaTable u_table = read_ghia("ghia1982_u_vertical_centerline.csv");
  const GhiaTable v_table = read_ghia("ghia1982_v_horizontal_centerline.csv");
  CavityParams p;
  p.reynolds = 1000.0;
  p.n = n;
  const CavitySolution s = jetpinn::solve_cavity(p);
  CHECK(s.residual_psi < p.tolerance);
  CHECK(s.residual_omega < p.tolerance);
  const Deviation dev = ghia_deviation(s, u_table, v_table, 2);
  const double bp = botella_deviation(s);
  MESSAGE((n + 1) << "² Re 1000 (" << s.seconds << " s, " << s.total_newton_steps << " Newton steps, "
                  << s.factorizations << " factorisations on the finest grid): vs Ghia max |du| " << dev.u
                  << ", max |dv| " << dev.v << " (tolerance " << GHIA_TOL << "); vs Botella & Peyret " << bp
                  << " (tolerance " << botella_tol << ")");
  CHECK(dev.u < GHIA_TOL);
  CHECK(dev.v < GHIA_TOL);
  CHECK(bp < botella_tol);
}

}  // namespace

TEST_CASE("reference cavity: Re = 1000 on 257^2 against Ghia et al. and Botella & Peyret") {
  check_re1000(256, 6e-3);  // measured 5.05e-3
}

TEST_CASE("reference cavity: 513^2 at Re = 1000 (long and skipped by default)" * doctest::skip()) {
  check_re1000(512, 1.5e-3);  // measured 1.26e-3, a quarter of the 257² error
}
