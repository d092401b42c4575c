// The leading singular term of the lid-driven cavity at its two top corners, where the moving lid meets a wall
// at rest and the velocity is discontinuous: the Stokes flow in a right-angled corner with one wall sliding
// (Taylor's scraper; Moffatt 1964, J. Fluid Mech. 18:1-18, §2), the first term of the expansion Botella & Peyret
// (1998, Computers & Fluids 27:421-433) subtract. At a corner, with ξ the distance from the side wall, η = 1 − y
// the distance from the lid, r² = ξ² + η² and θ = atan2(η, ξ):
//   ψ_c = r f(θ),  f(θ) = (4θ cos θ + (2πθ − π²) sin θ) / (π² − 4),
// the solution of ∇⁴ψ = 0 with ψ = 0 on both walls, ψ_y = u = 1 on the lid (θ = 0) and ∂ψ/∂ξ = 0 on the side
// wall (θ = π/2). Its vorticity ω_c = −∇²ψ_c = −(4πξ − 8η) / ((π² − 4) r²) is harmonic and grows like 1/r.
// The same formula serves both corners: mirroring x -> 1 − x flips the sign of ψ, and so does reversing the lid.
// CornerFlow holds the sum of both corners' terms and their exact derivatives; conventions as in
// cavity_reference.h (u = ψ_y, v = −ψ_x, ω = v_x − u_y = −∇²ψ).
#pragma once

namespace jetpinn {

struct CornerFlow {
  double psi = 0, u = 0, v = 0;               // ψ_c and the velocity (on the lid u = 2: one from each corner)
  double omega = 0, omega_x = 0, omega_y = 0; // ω_c and its gradient
  double psi_xx = 0, psi_yy = 0, psi_xy = 0;  // second derivatives
};

// Both corner terms at (x, y) in the closed unit square; a corner itself, where they are singular, gets the
// other corner's term only.
CornerFlow cavity_corner_flow(double x, double y);

}  // namespace jetpinn
