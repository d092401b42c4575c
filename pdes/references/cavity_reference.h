// Steady lid-driven cavity reference: stream function–vorticity form on the unit square, second-order central
// differences on a uniform (n+1) x (n+1) node grid, solved by Newton's method with a sparse direct solver,
// continued in Reynolds number on a coarse grid and then in grid size (see cavity_reference.cpp for the maths).
// Conventions: u = ∂ψ/∂y, v = −∂ψ/∂x, ω = ∂v/∂x − ∂u/∂y = −∇²ψ; the lid y = 1 moves with u = 1, every other wall
// is at rest; Re = 1/ν (lid velocity and side length 1). Node fields are (n+1)² values indexed [i][j] (first
// axis x): value(x_i, y_j) = field[i*(n+1) + j], x_i = i/n, y_j = j/n. The two top corners belong to the side
// walls (u = 0 there); the lid is 0 < x < 1.
// Measured on the project's 2-core machine (single-threaded sparse LU): 257² at Re = 100 in 2.1 s wall (0.36 GB
// peak), 513² at Re = 1000 in 21 s wall (22 s CPU; 34 s wall with the other core busy, 2.5 GB peak); both to
// residuals below 1e-9, the 513² solve with one LU factorisation and 10 Newton steps on the finest grid.
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

// One Newton solve on a single grid from a given initial state (psi, omega as node fields of that grid, or empty
// for zero); the building block of solve_cavity, exposed for tests of the continuation.
CavitySolution solve_cavity_on_grid(int n, double reynolds, std::vector<double> psi, std::vector<double> omega,
                                    const CavityParams& params);

// Node fields of the (2n+1)^2 grid interpolated from those of the (n+1)^2 grid (cubic), for grid continuation.
std::vector<double> refine_cavity_field(const CavitySolution& coarse, const std::vector<double>& field);

}  // namespace jetpinn
