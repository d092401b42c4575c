// Viscous Burgers reference: u_t + u u_x = ν u_xx on x in [−1, 1], u(0, x) = −sin(πx), u(t, ±1) = 0, ν = 0.01/π,
// from the exact Cole–Hopf solution (Basdevant et al. 1986)
//   u(t, x) = −∫ sin(π(x−η)) f(x−η) exp(−η²/(4νt)) dη / ∫ f(x−η) exp(−η²/(4νt)) dη,  f(y) = exp(−cos(πy)/(2πν)),
// evaluated by Gauss–Hermite quadrature after η = sqrt(4νt) s. t = 0 returns the initial condition exactly.
// Grids are u[t][x] (time first); the classic data set's grid is x = linspace(−1, 1, 256), t = linspace(0, 0.99, 100).
#pragma once
#include <numbers>
#include <vector>

#include "gauss_hermite.h"
#include "space_time_grid.h"

namespace jetpinn {

struct BurgersParams {
  double nu = 0.01 / std::numbers::pi;
  // Gauss–Hermite nodes. Measured max |u_n − u_2n| near the front (x in [−0.01, 0.01], t in [1/π, 1]):
  // n = 32: 4e-3, n = 64: 1.7e-10, n >= 96: roundoff (~1e-14); 128 leaves a margin (test_reference_burgers.cpp).
  int quadrature_nodes = 128;
};

struct BurgersValue {
  double u = 0.0, u_x = 0.0;
};

class BurgersReference {
 public:
  explicit BurgersReference(const BurgersParams& params = {});

  double u(double t, double x) const { return u_and_u_x(t, x).u; }
  // u and its exact x-derivative (the quadrature of the differentiated integrands).
  BurgersValue u_and_u_x(double t, double x) const;
  // u at the points (t[k], x[k]); t and x have equal sizes.
  std::vector<double> u_at(const std::vector<double>& t, const std::vector<double>& x) const;
  // u on the tensor grid t × x, u[t][x].
  SpaceTimeGrid grid(const std::vector<double>& t, const std::vector<double>& x) const;
  // The classic 100 × 256 grid: t = j·0.01 (j = 0..99), x = −1 + 2k/255 (k = 0..255).
  SpaceTimeGrid classic_grid() const;

  const BurgersParams& params() const { return m_params; }

 private:
  BurgersParams m_params;
  GaussHermiteRule m_rule;
};

}  // namespace jetpinn
