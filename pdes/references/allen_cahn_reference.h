// Allen–Cahn reference: u_t = ε u_xx + 5u − 5u³ on x in [−1, 1] periodic, t in [0, 1], u(0, x) = x² cos(πx),
// ε = 1e-4, by Fourier pseudo-spectral collocation in x and ETDRK4 in time (etdrk4.h; L = ε ∂xx exactly,
// N(u) = 5u − 5u³ pointwise). Output on the 201 × 512 grid t = j/200 (j = 0..200), x = −1 + k/256 (k = 0..511),
// u[t][x] (time first), the collocation points of the 512-mode grid and every (modes/512)-th point of finer ones.
#pragma once
#include <cmath>
#include <numbers>

#include "space_time_grid.h"

namespace jetpinn {

struct AllenCahnParams {
  double eps = 1e-4;       // diffusion coefficient ε
  double reaction = 5.0;   // the 5 in 5u − 5u³
  int modes = 4096;        // Fourier modes (collocation points on [−1, 1)); a multiple of 512
  double dt = 1.0 / 2000;  // time step; must divide the output spacing 1/200
  int contour_points = 64; // points on the contour of the phi-function integrals
};

inline double allen_cahn_initial(double x) { return x * x * std::cos(std::numbers::pi * x); }

// The solution on the 201 × 512 output grid.
SpaceTimeGrid allen_cahn_reference(const AllenCahnParams& params = {});

}  // namespace jetpinn
