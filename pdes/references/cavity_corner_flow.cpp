// The Stokes corner flow of the cavity's two lid corners (see cavity_corner_flow.h). Written in the corner's own
// coordinates ξ (from the side wall) and η = 1 − y (from the lid), ψ_c = P(ξ, η) = c((2πθ − π²)η + 4θξ) with
// c = 1/(π² − 4), θ_ξ = −η/r², θ_η = ξ/r²; then ∂/∂x = ±∂/∂ξ (+ at the left corner) and ∂/∂y = −∂/∂η.
#include "cavity_corner_flow.h"

#include <cmath>
#include <initializer_list>
#include <numbers>

namespace jetpinn {

CornerFlow cavity_corner_flow(double x, double y) {
  constexpr double PI = std::numbers::pi;
  constexpr double C = 1.0 / (PI * PI - 4.0);
  CornerFlow out;
  for (const bool left : {true, false}) {
    const double xi = left ? x : 1.0 - x, eta = 1.0 - y, dx = left ? 1.0 : -1.0;
    const double r2 = xi * xi + eta * eta;
    if (r2 == 0.0) continue;  // the corner itself
    const double r4 = r2 * r2, th = std::atan2(eta, xi);
    const double p = C * ((2 * PI * th - PI * PI) * eta + 4 * th * xi);
    const double p_xi = C * (4 * th - (2 * PI * eta * eta + 4 * xi * eta) / r2);
    const double p_eta = C * (2 * PI * th - PI * PI + (2 * PI * eta * xi + 4 * xi * xi) / r2);
    const double q = (4 * PI * xi * eta * eta + 8 * xi * xi * eta) / r4;  // shared by P_ξξ and P_ηη
    const double p_xixi = C * (-8 * eta / r2 + q);
    const double p_etaeta = C * (4 * PI * xi / r2 - q);
    const double p_xieta = -4 * C * xi * eta * (PI * xi - 2 * eta) / r4;  // P_ξξ = a η², P_ηη = a ξ², P_ξη = −a ξη
    const double s = 4 * PI * xi - 8 * eta;  // ω_c = −C s / r²
    const double w = -C * s / r2;
    const double w_xi = -C * (4 * PI / r2 - 2 * s * xi / r4);
    const double w_eta = -C * (-8 / r2 - 2 * s * eta / r4);
    out.psi += p;
    out.u += -p_eta;
    out.v += -dx * p_xi;
    out.omega += w;
    out.omega_x += dx * w_xi;
    out.omega_y += -w_eta;
    out.psi_xx += p_xixi;
    out.psi_yy += p_etaeta;
    out.psi_xy += -dx * p_xieta;
  }
  return out;
}

}  // namespace jetpinn
