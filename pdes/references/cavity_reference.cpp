// Lid-driven cavity by Newton's method on the stream function–vorticity equations (see cavity_reference.h).
// Unknowns: ψ and ω at the (n−1)² interior nodes, interleaved per node (2k: ψ, 2k+1: ω, k = (i−1)(n−1) + j−1).
// Equations at each interior node, h = 1/n, central differences (second order):
//   F1 = ∇²_h ψ + ω = 0                                               (row 2k)
//   F2 = Re·(u δ_x ω + v δ_y ω) − ∇²_h ω = 0,  u = δ_y ψ, v = −δ_x ψ    (row 2k+1; Re times the transport equation,
//                                                                       so both rows have diagonal ≈ 4/h²)
// with ψ = 0 on the walls and the wall vorticity from Thom's formula, ω_wall = −2 ψ_adjacent/h² − 2 U_wall/h
// (U_wall = 1 on the lid, 0 elsewhere; from ψ's Taylor expansion normal to the wall with ∂ψ/∂n = tangential
// velocity). Thom's formula is first order at the wall but gives second-order ψ, ω and velocities in the
// interior (Huang & Wetton 1996); the refinement test measures the order. Wall ω depends only on the interior
// node next to it, so each equation couples a node to its four neighbours: the Jacobian has a 5-point node
// stencil with 2 x 2 blocks, factorised by Eigen's SparseLU.
// Corner subtraction (CavityParams::subtract_corners): ψ = ψ_c + ψ̃, ω = ω_c + ω̃ with the corner flow ψ_c known in
// closed form (cavity_corner_flow.h). The differences act on ψ̃ and ω̃ only and ψ_c's derivatives are exact, so
// with ∇²ψ_c = −ω_c and ∇²ω_c = 0 the equations become, at each interior node,
//   F1 = ∇²_h ψ + ω + [−ω_c − ∇²_h ψ_c],   F2 = Re·(u ω_x + v ω_y) − ∇²_h ω + [∇²_h ω_c],
//   u = δ_y ψ + [u_c − δ_y ψ_c], v = −δ_x ψ + [v_c + δ_x ψ_c], ω_x = δ_x ω + [∂_x ω_c − δ_x ω_c], likewise ω_y,
// and Thom's formula applied to ψ̃ (whose wall values −ψ_c and normal slopes are known) is Thom's formula on ψ plus
// 2(ψ_c,adjacent − ψ_c,wall − h ∂_n ψ_c)/h² − ∂_nn ψ_c (n the inward normal). Each bracket is a fixed number per
// node, so the unknowns, the stencil and the Jacobian's pattern are unchanged; the corner nodes, where ψ_c is
// singular, are in no stencil. Near a corner ψ̃'s velocity is O(Re·r) (up to logarithms): the inertia the Stokes
// term leaves out, Re·u·∇ω_c ~ Re/r², forces ∇⁴ψ̃.
#include "cavity_reference.h"

#include <Eigen/Sparse>
#include <Eigen/SparseLU>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "cavity_corner_flow.h"
#include "check.h"

namespace jetpinn {

namespace {

using SpMat = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;

// The discrete problem on one grid: node fields [i][j] of size (n+1)^2, ψ = 0 on the walls, wall ω derived.
class CavityGrid {
 public:
  CavityGrid(int n, double reynolds, bool subtract_corners)
      : m_n(n), m_re(reynolds), m_h(1.0 / n), m_inv_h2(double(n) * n),
        m_fix(static_cast<std::size_t>(n + 1) * (n + 1)) {
    if (subtract_corners) set_corner_corrections();
  }

  std::size_t node(int i, int j) const { return static_cast<std::size_t>(i) * (m_n + 1) + j; }
  int unknown(int i, int j) const { return 2 * ((i - 1) * (m_n - 1) + (j - 1)); }
  int unknowns() const { return 2 * (m_n - 1) * (m_n - 1); }

  // u = ∂ψ/∂y, v = −∂ψ/∂x by central differences inside, plus the corner flow's corrections; the wall velocities
  // on the walls.
  void set_velocities(CavitySolution& s) const {
    const int n = m_n;
    const double half_inv_h = 0.5 / m_h;
    s.u.assign(s.psi.size(), 0.0);
    s.v.assign(s.psi.size(), 0.0);
    for (int i = 1; i < n; ++i) {
      for (int j = 1; j < n; ++j) {
        const std::size_t p = node(i, j);
        s.u[p] = (s.psi[node(i, j + 1)] - s.psi[node(i, j - 1)]) * half_inv_h + m_fix[p].u;
        s.v[p] = -(s.psi[node(i + 1, j)] - s.psi[node(i - 1, j)]) * half_inv_h + m_fix[p].v;
      }
      s.u[node(i, n)] = 1.0;  // the lid
    }
  }

  // Thom's formula on the four walls (corners are never used by the 5-point stencils; they get 0).
  void set_wall_vorticity(const std::vector<double>& psi, std::vector<double>& omega) const {
    const int n = m_n;
    for (int k = 1; k < n; ++k) {
      omega[node(k, 0)] = -2.0 * psi[node(k, 1)] * m_inv_h2;                    // bottom, at rest
      omega[node(k, n)] = -2.0 * psi[node(k, n - 1)] * m_inv_h2 - 2.0 / m_h;   // lid, u = 1
      omega[node(0, k)] = -2.0 * psi[node(1, k)] * m_inv_h2;                    // left
      omega[node(n, k)] = -2.0 * psi[node(n - 1, k)] * m_inv_h2;                // right
      for (const std::size_t w : {node(k, 0), node(k, n), node(0, k), node(n, k)}) omega[w] += m_fix[w].wall;
    }
    omega[node(0, 0)] = omega[node(0, n)] = omega[node(n, 0)] = omega[node(n, n)] = 0.0;
  }

  // F (rows as in the file comment) for the state (psi, omega) whose wall values are already set; returns
  // max|F1| and max|F2|/Re, the residuals in the units of the unscaled equations.
  std::pair<double, double> residual(const std::vector<double>& psi, const std::vector<double>& omega,
                                     Eigen::VectorXd& f) const {
    const int n = m_n;
    f.resize(unknowns());
    double r1 = 0.0, r2 = 0.0;
    const double half_inv_h = 0.5 / m_h;
    for (int i = 1; i < n; ++i)
      for (int j = 1; j < n; ++j) {
        const std::size_t p = node(i, j), e = node(i + 1, j), w = node(i - 1, j), nn = node(i, j + 1), s = node(i, j - 1);
        const double lap_psi = (psi[e] + psi[w] + psi[nn] + psi[s] - 4.0 * psi[p]) * m_inv_h2;
        const double lap_omega = (omega[e] + omega[w] + omega[nn] + omega[s] - 4.0 * omega[p]) * m_inv_h2;
        const Fix& c = m_fix[p];
        const double u = (psi[nn] - psi[s]) * half_inv_h + c.u;
        const double v = -(psi[e] - psi[w]) * half_inv_h + c.v;
        const double omega_x = (omega[e] - omega[w]) * half_inv_h + c.omega_x;
        const double omega_y = (omega[nn] - omega[s]) * half_inv_h + c.omega_y;
        const double f1 = lap_psi + omega[p] + c.f1;
        const double f2 = m_re * (u * omega_x + v * omega_y) - lap_omega + c.f2;
        const int k = unknown(i, j);
        f[k] = f1;
        f[k + 1] = f2;
        r1 = std::max(r1, std::abs(f1));
        r2 = std::max(r2, std::abs(f2));
      }
    return {r1, r2 / m_re};
  }

  // The Jacobian ∂F/∂(ψ, ω) at the interior unknowns, wall ω eliminated through Thom's formula.
  void jacobian(const std::vector<double>& psi, const std::vector<double>& omega, SpMat& jac) const {
    const int n = m_n;
    const double half_inv_h = 0.5 / m_h, ih2 = m_inv_h2;
    std::vector<Eigen::Triplet<double>> t;
    t.reserve(static_cast<std::size_t>(unknowns()) * 8);
    for (int i = 1; i < n; ++i)
      for (int j = 1; j < n; ++j) {
        const int k = unknown(i, j);
        const int r1 = k, r2 = k + 1;
        const std::size_t e = node(i + 1, j), w = node(i - 1, j), nn = node(i, j + 1), s = node(i, j - 1);
        const Fix& c = m_fix[node(i, j)];
        const double u = (psi[nn] - psi[s]) * half_inv_h + c.u;
        const double v = -(psi[e] - psi[w]) * half_inv_h + c.v;
        // F1 = ∇²ψ + ω
        t.emplace_back(r1, k, -4.0 * ih2);
        t.emplace_back(r1, k + 1, 1.0);
        // F2 = Re (u δx ω + v δy ω) − ∇²ω: centre, then the four neighbours (ω of a wall neighbour is
        // −2ψ_P/h² + const, which lands on ψ at this node P).
        t.emplace_back(r2, k + 1, 4.0 * ih2);
        double dpsi_p = 0.0;
        const struct {
          int di, dj;
          double coef;
        } nbs[4] = {{1, 0, m_re * u * half_inv_h - ih2},
                    {-1, 0, -m_re * u * half_inv_h - ih2},
                    {0, 1, m_re * v * half_inv_h - ih2},
                    {0, -1, -m_re * v * half_inv_h - ih2}};
        for (const auto& q : nbs) {
          const int qi = i + q.di, qj = j + q.dj;
          if (qi >= 1 && qi < n && qj >= 1 && qj < n) {
            t.emplace_back(r2, unknown(qi, qj) + 1, q.coef);
            t.emplace_back(r1, unknown(qi, qj), ih2);  // F1's ψ neighbour
          } else {
            dpsi_p += q.coef * (-2.0 * ih2);
          }
        }
        if (dpsi_p != 0.0) t.emplace_back(r2, k, dpsi_p);
        // Through the velocities: ∂u/∂ψ_N = 1/(2h), ∂u/∂ψ_S = −1/(2h), ∂v/∂ψ_E = −1/(2h), ∂v/∂ψ_W = 1/(2h).
        const double du = m_re * ((omega[e] - omega[w]) * half_inv_h + c.omega_x) * half_inv_h;
        const double dv = m_re * ((omega[nn] - omega[s]) * half_inv_h + c.omega_y) * half_inv_h;
        if (j + 1 < n) t.emplace_back(r2, unknown(i, j + 1), du);
        if (j - 1 >= 1) t.emplace_back(r2, unknown(i, j - 1), -du);
        if (i + 1 < n) t.emplace_back(r2, unknown(i + 1, j), -dv);
        if (i - 1 >= 1) t.emplace_back(r2, unknown(i - 1, j), dv);
      }
    jac.resize(unknowns(), unknowns());
    jac.setFromTriplets(t.begin(), t.end());  // sums the duplicate (r2, ψ_Q) entries
  }

 private:
  // The bracketed terms of the file comment at one node: interior equations and velocities, or a wall's ω.
  struct Fix {
    double f1 = 0, f2 = 0, u = 0, v = 0, omega_x = 0, omega_y = 0, wall = 0;
  };

  void set_corner_corrections() {
    const int n = m_n;
    std::vector<CornerFlow> c(m_fix.size());
    for (int i = 0; i <= n; ++i)
      for (int j = 0; j <= n; ++j) c[node(i, j)] = cavity_corner_flow(double(i) / n, double(j) / n);
    const double half_inv_h = 0.5 / m_h;
    for (int i = 1; i < n; ++i)
      for (int j = 1; j < n; ++j) {
        const CornerFlow &p = c[node(i, j)], &e = c[node(i + 1, j)], &w = c[node(i - 1, j)], &nn = c[node(i, j + 1)],
                         &s = c[node(i, j - 1)];
        Fix& f = m_fix[node(i, j)];
        f.f1 = -p.omega - (e.psi + w.psi + nn.psi + s.psi - 4.0 * p.psi) * m_inv_h2;
        f.f2 = (e.omega + w.omega + nn.omega + s.omega - 4.0 * p.omega) * m_inv_h2;
        f.u = p.u - (nn.psi - s.psi) * half_inv_h;
        f.v = p.v + (e.psi - w.psi) * half_inv_h;
        f.omega_x = p.omega_x - (e.omega - w.omega) * half_inv_h;
        f.omega_y = p.omega_y - (nn.omega - s.omega) * half_inv_h;
      }
    // Thom's formula's error on ψ_c: wall node, its interior neighbour, ∂_n ψ_c and ∂_nn ψ_c (inward normal).
    const auto wall = [&](std::size_t at, std::size_t adjacent, double dn, double dnn) {
      m_fix[at].wall = 2.0 * (c[adjacent].psi - c[at].psi - m_h * dn) * m_inv_h2 - dnn;
    };
    for (int k = 1; k < n; ++k) {
      wall(node(k, 0), node(k, 1), c[node(k, 0)].u, c[node(k, 0)].psi_yy);              // bottom: ∂_n = ∂_y
      wall(node(k, n), node(k, n - 1), -c[node(k, n)].u, c[node(k, n)].psi_yy);         // lid: ∂_n = −∂_y
      wall(node(0, k), node(1, k), -c[node(0, k)].v, c[node(0, k)].psi_xx);             // left: ∂_n = ∂_x
      wall(node(n, k), node(n - 1, k), c[node(n, k)].v, c[node(n, k)].psi_xx);          // right: ∂_n = −∂_x
    }
  }

  int m_n;
  double m_re, m_h, m_inv_h2;
  std::vector<Fix> m_fix;  // all zero without corner subtraction
};

// u = ∂ψ/∂y, v = −∂ψ/∂x by central differences inside (of ψ − ψ_c, plus ψ_c's exact velocity, when the corners
// are subtracted: the grid's corrections); the wall velocities on the walls.
void set_velocities(CavitySolution& s) { CavityGrid(s.n, s.reynolds, s.corners_subtracted).set_velocities(s); }

// Weights of cubic Lagrange interpolation through 4 consecutive nodes first, first+1, .., first+3 of a grid with
// n cells on [0, 1], at coordinate x; the stencil is the one around x, shifted inwards at the ends.
int cubic_stencil(double x, int n, double w[4]) {
  const double s = x * n;
  int cell = std::clamp(static_cast<int>(std::floor(s)), 0, n - 1);
  const int first = std::clamp(cell - 1, 0, std::max(0, n - 3));
  const int points = std::min(4, n + 1);
  for (int a = 0; a < 4; ++a) {
    w[a] = 0.0;
    if (a >= points) continue;
    double l = 1.0;
    for (int b = 0; b < points; ++b)
      if (b != a) l *= (s - (first + b)) / static_cast<double>(a - b);
    w[a] = l;
  }
  return first;
}

// Newton's method with a damped step, reusing one LU factorisation (the chord method) while it still cuts the
// residual tenfold per step, since a factorisation costs far more than a solve with it (on 513^2 the whole fine
// level needed one factorisation and 10 solves). Converged when both residuals are below tolerance.
bool newton_solve(CavitySolution& s, const CavityParams& params) {
  constexpr double REUSE_CONTRACTION = 0.1;  // a stale LU is kept while each step divides the residual by >= 10
  const CavityGrid grid(s.n, s.reynolds, s.corners_subtracted);
  Eigen::VectorXd f, f_trial, delta;
  grid.set_wall_vorticity(s.psi, s.omega);
  auto [r1, r2] = grid.residual(s.psi, s.omega, f);
  // COLAMD measured faster here than a hand-written nested dissection (1.2 s against 2.8 s per factorisation on
  // the 257^2 grid; Eigen's SparseLU bounds fill through the column elimination tree of J^T J). A pivot threshold
  // of 0.1 prefers the diagonal unless it is 10x smaller than the column's largest entry.
  Eigen::SparseLU<SpMat, Eigen::COLAMDOrdering<int>> lu;
  lu.setPivotThreshold(0.1);
  SpMat jac;
  bool analysed = false;
  bool refactor = true;  // factorise before the next step
  bool fresh = false;    // lu holds the Jacobian at the current iterate
  s.newton_steps = 0;
  s.factorizations = 0;
  std::vector<double> psi_trial, omega_trial;
  while (s.newton_steps < params.max_newton_steps) {
    if (params.verbose)
      std::fprintf(stderr, "cavity n=%d Re=%g step %d: max|F_psi| %.3e max|F_omega| %.3e\n", s.n, s.reynolds,
                   s.newton_steps, r1, r2);
    if (r1 < params.tolerance && r2 < params.tolerance) break;
    if (refactor) {
      grid.jacobian(s.psi, s.omega, jac);
      if (!analysed) lu.analyzePattern(jac);
      analysed = true;
      lu.factorize(jac);
      JETPINN_CHECK(lu.info() == Eigen::Success, "cavity Newton: sparse LU failed on the " << s.n << "-cell grid at Re "
                                                     << s.reynolds << ": " << lu.lastErrorMessage());
      ++s.factorizations;
      fresh = true;
      refactor = false;
    }
    delta = lu.solve(-f);
    ++s.newton_steps;
    // Damped step: halve it until the larger residual decreases.
    const double merit = std::max(r1, r2);
    double lambda = 1.0;
    bool decreased = false;
    for (int tries = 0; tries <= 8 && !decreased; ++tries, lambda *= 0.5) {
      psi_trial = s.psi;
      omega_trial = s.omega;
      for (int i = 1; i < s.n; ++i)
        for (int j = 1; j < s.n; ++j) {
          const int k = grid.unknown(i, j);
          psi_trial[grid.node(i, j)] += lambda * delta[k];
          omega_trial[grid.node(i, j)] += lambda * delta[k + 1];
        }
      grid.set_wall_vorticity(psi_trial, omega_trial);
      const auto [t1, t2] = grid.residual(psi_trial, omega_trial, f_trial);
      decreased = std::max(t1, t2) < merit;
      if (decreased) {
        s.psi.swap(psi_trial);
        s.omega.swap(omega_trial);
        f.swap(f_trial);
        r1 = t1;
        r2 = t2;
        // Keep the factorisation for the next step only if this full step contracted well.
        refactor = tries > 0 || std::max(r1, r2) > REUSE_CONTRACTION * merit;
      }
    }
    if (!decreased && fresh) break;  // no decrease along the exact Newton direction: stalled or at roundoff
    if (!decreased) refactor = true;  // the stale LU failed: refactorise and retry from the same iterate
    fresh = false;  // the iterate moved, or the stale LU is about to be replaced
  }
  s.residual_psi = r1;
  s.residual_omega = r2;
  return r1 < params.tolerance && r2 < params.tolerance;
}

}  // namespace

double CavitySolution::interpolate(const std::vector<double>& field, double px, double py) const {
  JETPINN_CHECK(field.size() == static_cast<std::size_t>(n + 1) * (n + 1),
                "cavity interpolation: field has " << field.size() << " values, expected (n+1)^2 = " << (n + 1) * (n + 1));
  JETPINN_CHECK(px >= 0.0 && px <= 1.0 && py >= 0.0 && py <= 1.0,
                "cavity interpolation: point (" << px << ", " << py << ") lies outside the unit square");
  double wx[4], wy[4];
  const int i0 = cubic_stencil(px, n, wx), j0 = cubic_stencil(py, n, wy);
  double sum = 0.0;
  for (int a = 0; a < 4; ++a) {
    if (wx[a] == 0.0) continue;
    double col = 0.0;
    for (int b = 0; b < 4; ++b)
      if (wy[b] != 0.0) col += wy[b] * field[static_cast<std::size_t>(i0 + a) * (n + 1) + (j0 + b)];
    sum += wx[a] * col;
  }
  return sum;
}

std::vector<double> refine_cavity_field(const CavitySolution& coarse, const std::vector<double>& field) {
  const int fine = 2 * coarse.n;
  std::vector<double> out(static_cast<std::size_t>(fine + 1) * (fine + 1));
  for (int i = 0; i <= fine; ++i)
    for (int j = 0; j <= fine; ++j)
      out[static_cast<std::size_t>(i) * (fine + 1) + j] =
          coarse.interpolate(field, static_cast<double>(i) / fine, static_cast<double>(j) / fine);
  return out;
}

CavitySolution solve_cavity_on_grid(int n, double reynolds, std::vector<double> psi, std::vector<double> omega,
                                    const CavityParams& params) {
  JETPINN_CHECK(n >= 4, "cavity grid needs at least 4 cells per side, got " << n);
  JETPINN_CHECK(reynolds > 0.0, "cavity Reynolds number must be positive, got " << reynolds);
  const std::size_t nodes = static_cast<std::size_t>(n + 1) * (n + 1);
  JETPINN_CHECK((psi.empty() || psi.size() == nodes) && (omega.empty() || omega.size() == nodes),
                "cavity initial state must hold (n+1)^2 = " << nodes << " node values per field");
  CavitySolution s;
  s.n = n;
  s.reynolds = reynolds;
  s.corners_subtracted = params.subtract_corners;
  s.psi = psi.empty() ? std::vector<double>(nodes, 0.0) : std::move(psi);
  s.omega = omega.empty() ? std::vector<double>(nodes, 0.0) : std::move(omega);
  const bool ok = newton_solve(s, params);
  JETPINN_CHECK(ok, "cavity Newton did not converge on the " << n << "-cell grid at Re " << reynolds << " in "
                                                             << s.newton_steps << " steps: residuals " << s.residual_psi
                                                             << ", " << s.residual_omega << " (expected < "
                                                             << params.tolerance << ")");
  set_velocities(s);
  return s;
}

std::vector<CavitySolution> solve_cavity_levels(const CavityParams& params, int levels) {
  const auto start = std::chrono::steady_clock::now();
  JETPINN_CHECK(params.n >= 4 && params.coarsest_n >= 4, "cavity grid sizes must be at least 4, got n = "
                                                             << params.n << ", coarsest_n = " << params.coarsest_n);
  JETPINN_CHECK(levels >= 1 && params.n % (1 << (levels - 1)) == 0 && params.n >> (levels - 1) >= 4,
                "cavity: " << levels << " grid levels need n = " << params.n << " divisible by " << (1 << (levels - 1))
                           << " with at least 4 cells on the coarsest");
  // Grid levels n, n/2, ... down to the coarsest that is still >= coarsest_n (or has the levels asked for).
  int coarsest = params.n;
  for (int k = 1; coarsest % 2 == 0 && (coarsest / 2 >= params.coarsest_n || k < levels); ++k) coarsest /= 2;

  // Reynolds continuation on the coarsest grid: start at Re <= 100 (Newton from rest converges there), then
  // multiply Re by up to 2 per step, shrinking the step whenever Newton fails.
  double re = std::min(params.reynolds, 100.0);
  CavitySolution s = solve_cavity_on_grid(coarsest, re, {}, {}, params);
  int total_steps = s.newton_steps;
  double factor = 2.0;
  while (re < params.reynolds) {
    const double next = std::min(params.reynolds, re * factor);
    CavitySolution trial = s;
    trial.reynolds = next;
    const bool ok = newton_solve(trial, params);
    total_steps += trial.newton_steps;
    if (ok) {
      s = std::move(trial);
      re = next;
    } else {
      factor = std::sqrt(factor);
      JETPINN_CHECK(factor > 1.01, "cavity Reynolds continuation stalled at Re " << re << " on the " << coarsest
                                                                                 << "-cell grid");
    }
  }
  set_velocities(s);
  // Grid continuation: interpolate to the next grid and solve there.
  std::vector<CavitySolution> out{s};
  while (out.back().n < params.n) {
    const CavitySolution& c = out.back();
    out.push_back(solve_cavity_on_grid(2 * c.n, params.reynolds, refine_cavity_field(c, c.psi),
                                       refine_cavity_field(c, c.omega), params));
    total_steps += out.back().newton_steps;
  }
  out.back().total_newton_steps = total_steps;
  out.back().seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

CavitySolution solve_cavity(const CavityParams& params) { return std::move(solve_cavity_levels(params).back()); }

CavitySolution richardson_cavity(const CavitySolution& coarse, const CavitySolution& fine) {
  JETPINN_CHECK(fine.n == 2 * coarse.n && fine.reynolds == coarse.reynolds &&
                    fine.corners_subtracted == coarse.corners_subtracted,
                "cavity Richardson extrapolation needs grids of n and 2n cells of one scheme at one Reynolds number, "
                "got " << coarse.n << " and " << fine.n);
  CavitySolution r = fine;
  r.n = coarse.n;
  const int m = coarse.n, f = fine.n;
  for (auto field : {&CavitySolution::psi, &CavitySolution::omega, &CavitySolution::u, &CavitySolution::v}) {
    std::vector<double>& out = r.*field;
    out.assign(static_cast<std::size_t>(m + 1) * (m + 1), 0.0);
    for (int i = 0; i <= m; ++i)
      for (int j = 0; j <= m; ++j) {
        const std::size_t k = static_cast<std::size_t>(i) * (m + 1) + j;
        const double fine_value = (fine.*field)[static_cast<std::size_t>(2 * i) * (f + 1) + 2 * j];
        out[k] = (4.0 * fine_value - (coarse.*field)[k]) / 3.0;  // the h² terms cancel
      }
  }
  return r;
}

CavitySolution solve_cavity_extrapolated(const CavityParams& params) {
  JETPINN_CHECK(params.n % 8 == 0, "cavity extrapolation needs n divisible by 8, got " << params.n);
  const std::vector<CavitySolution> levels = solve_cavity_levels(params, 3);
  const std::size_t last = levels.size() - 1;
  const CavitySolution previous = richardson_cavity(levels[last - 2], levels[last - 1]);
  CavitySolution r = richardson_cavity(levels[last - 1], levels[last]);
  r.richardson_from = params.n;
  r.richardson_change = cavity_velocity_difference(previous, r, params.n / 4);
  return r;
}

double cavity_velocity_difference(const CavitySolution& a, const CavitySolution& b, int m) {
  JETPINN_CHECK(m >= 1 && a.n % m == 0 && b.n % m == 0,
                "cavity velocity difference: grid of " << m << " cells is not in both grids (" << a.n << ", " << b.n
                                                       << ")");
  double diff = 0.0, norm = 0.0;
  for (int i = 0; i <= m; ++i)
    for (int j = 0; j <= m; ++j) {
      const std::size_t ka = static_cast<std::size_t>(i * (a.n / m)) * (a.n + 1) + j * (a.n / m);
      const std::size_t kb = static_cast<std::size_t>(i * (b.n / m)) * (b.n + 1) + j * (b.n / m);
      const double du = a.u[ka] - b.u[kb], dv = a.v[ka] - b.v[kb];
      diff += du * du + dv * dv;
      norm += b.u[kb] * b.u[kb] + b.v[kb] * b.v[kb];
    }
  return std::sqrt(diff / norm);
}

}  // namespace jetpinn
