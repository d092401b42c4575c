// Steady lid-driven cavity reference: stream function–vorticity form on the unit square, second-order central
// differences on a uniform (n+1) x (n+1) node grid, solved by Newton's method with a sparse direct solver,
// continued in Reynolds number on a coarse grid and then in grid size (see cavity_reference.cpp for the maths).
// The velocity is discontinuous at the lid's two ends; the discretisation acts on ψ − ψ_c and ω − ω_c, with the
// corner flow ψ_c of cavity_corner_flow.h taken exactly, which restores second-order convergence next to those
// corners (Botella & Peyret 1998 subtract the leading terms of the same corner expansion in their spectral method).
// solve_cavity_extrapolated() combines the grids with n and n/2 cells by Richardson extrapolation.
// Conventions: u = ∂ψ/∂y, v = −∂ψ/∂x, ω = ∂v/∂x − ∂u/∂y = −∇²ψ; the lid y = 1 moves with u = 1, every other wall
// is at rest; Re = 1/ν (lid velocity and side length 1). Node fields are (n+1)² values indexed [i][j] (first
// axis x): value(x_i, y_j) = field[i*(n+1) + j], x_i = i/n, y_j = j/n. The two top corners belong to the side
// walls (u = 0 there); the lid is 0 < x < 1.
// Measured on the project's 2-core machine (single-threaded sparse LU, the other core busy): 129², 257² and 513²
// in 20 s at Re = 100 and 26 s at Re = 1000 (14-15 s of it the 513² LU factorisation; 2.3-2.5 GB peak), up to
// 257² in 3-5 s, all to residuals below 1e-9; 1025² (tests only) in 3 min and 11 GB.
#pragma once
#include <vector>

namespace jetpinn {

struct CavityParams {
  double reynolds = 100.0;
  int n = 256;                  // cells per side: (n+1)^2 nodes, n >= 4
  int coarsest_n = 64;          // the continuation starts on n/2^k, the smallest such grid >= coarsest_n
  double tolerance = 1e-9;      // stop when max|∇²ψ + ω| and max|u·∇ω − ν∇²ω| are both below this (U = L = 1)
  int max_newton_steps = 25;    // per Newton solve (each continuation step or grid level)
  bool verbose = false;         // print each Newton step to stderr
  bool subtract_corners = true; // discretise the difference from the corner flow (false: plain differences)
};

struct CavitySolution {
  int n = 0;
  double reynolds = 0.0;
  std::vector<double> psi, omega, u, v;  // node fields, [i][j] with i along x, (n+1)^2 values each; ω at the
                                         // four corners is not part of the scheme (singular at the lid's ends): 0
  double residual_psi = 0.0;             // max over interior nodes of |∇²ψ + ω|, the discrete Poisson equation
  double residual_omega = 0.0;           // max over interior nodes of |u·∇ω − ν∇²ω|, the discrete transport equation
  int newton_steps = 0;                  // Newton steps (linear solves) on the finest grid
  int factorizations = 0;                // LU factorisations on the finest grid (steps may reuse one)
  int total_newton_steps = 0;            // Newton steps over the whole continuation
  double seconds = 0.0;                  // wall time of the whole solve
  bool corners_subtracted = false;       // solved with CavityParams::subtract_corners
  // Set by solve_cavity_extrapolated() from the grids with N, N/2 and N/4 cells (N = richardson_from; 0: not
  // extrapolated; this solution lives on the N/2 grid): richardson_change is the relative L2 change of (u, v), on
  // the (N/4 + 1)² nodes, from the extrapolation of (N/4, N/2) to this one of (N/2, N). The extrapolated levels
  // converge at third order or faster (one more level, N = 1024, cut the change 8.7-fold at Re = 100 and
  // 10.8-fold at Re = 1000: tests/test_reference_cavity_accuracy.cpp), so this solution's error in that metric
  // is at most about richardson_change / 7.
  int richardson_from = 0;
  double richardson_change = 0.0;

  double x(int i) const { return static_cast<double>(i) / n; }
  // Tensor-product cubic Lagrange interpolation (4 x 4 nodes, shifted one-sided next to the walls), exact at
  // nodes; (x, y) must lie in the closed unit square.
  double interpolate(const std::vector<double>& field, double x, double y) const;
  double u_at(double x, double y) const { return interpolate(u, x, y); }
  double v_at(double x, double y) const { return interpolate(v, x, y); }
};

// Solves the steady cavity at params.reynolds on the (n+1)^2 grid; throws jetpinn::Error if Newton fails to
// reach params.tolerance.
CavitySolution solve_cavity(const CavityParams& params);

// Every grid level of solve_cavity's continuation, coarsest first (the last is solve_cavity's result); levels
// down to params.n / 2^(levels - 1) at least, below params.coarsest_n when needed.
std::vector<CavitySolution> solve_cavity_levels(const CavityParams& params, int levels = 1);

// Richardson extrapolation of two second-order solutions, (4 f_fine − f_coarse) / 3 for ψ, ω, u and v at the
// coarse grid's nodes (fine.n = 2 coarse.n); residuals and Newton counts are the fine grid's.
CavitySolution richardson_cavity(const CavitySolution& coarse, const CavitySolution& fine);

// The extrapolation of the grids with params.n and params.n / 2 cells, on the (params.n/2 + 1)^2 nodes, with
// richardson_change measured against the extrapolation of params.n / 2 and params.n / 4; params.n a multiple of 8.
// For params.n = 512 it takes about 20 s on one core; its error on the 129² nodes is 1.2e-5 at Re = 100 and
// 1.1e-4 at Re = 1000 (its difference from the extrapolation of 1025² and 513²; see richardson_change).
CavitySolution solve_cavity_extrapolated(const CavityParams& params);

// Relative L2 difference of the velocity (u, v) of a from b, sqrt(Σ|a − b|² / Σ|b|²) over the nodes of the
// (m+1)^2 grid (m must divide a.n and b.n): the cavity's scoring metric on m = 128.
double cavity_velocity_difference(const CavitySolution& a, const CavitySolution& b, int m);

// One Newton solve on a single grid from a given initial state (psi, omega as node fields of that grid, or empty
// for zero); the building block of solve_cavity, exposed for tests of the continuation.
CavitySolution solve_cavity_on_grid(int n, double reynolds, std::vector<double> psi, std::vector<double> omega,
                                    const CavityParams& params);

// Node fields of the (2n+1)^2 grid interpolated from those of the (n+1)^2 grid (cubic), for grid continuation.
std::vector<double> refine_cavity_field(const CavitySolution& coarse, const std::vector<double>& field);

}  // namespace jetpinn
