// Allen–Cahn by ETDRK4 (see allen_cahn_reference.h). On [−1, 1) with n modes the wavenumbers are k_m = π m
// (period 2), so the linear symbol is −ε π² m², m = 0..n/2.
// The initial condition is periodic but not smooth: u0'(±1) = ∓2, a kink at x = ±1 whose Fourier coefficients
// fall only like 1/m². Sampling u0 and taking its FFT would alias that tail onto every mode, an O(1/n²) error
// that decays slowly (measured with sampling: 2048 -> 4096 modes changed the output by 3e-4, 4096 -> 8192 by
// 1e-4). So the state starts from the exact coefficients of u0,
// truncated at n/2; the lost tail decays like exp(−ε π² m² t) and is below 1e-12 by the first output time
// t = 1/200 once n >= 4096. The t = 0 output row is u0 sampled exactly.
#include "allen_cahn_reference.h"

#include <cmath>
#include <complex>
#include <numbers>

#include "check.h"
#include "etdrk4.h"

namespace jetpinn {

namespace {

// FFT (unnormalised, modes 0..n/2) of the truncated Fourier series of u0(x) = x² cos(πx) on the grid
// x_j = −1 + 2j/n. On period 2, u0 = Σ_m c_m exp(iπmx) with c_m = (1/4)[I(m+1) + I(m−1)], where
// I(k) = ∫_{−1}^{1} x² cos(πkx) dx = 4(−1)^k/(π²k²) for k != 0 and 2/3 for k = 0 (integrate by parts twice;
// the product-to-sum identity gives the two terms). On the grid exp(iπmx_j) = (−1)^m exp(2πi jm/n), so the
// DFT of the series is n (−1)^m c_m; the Nyquist mode carries half of the ±n/2 pair.
std::vector<std::complex<double>> initial_spectrum(int n) {
  const double pi2 = std::numbers::pi * std::numbers::pi;
  const auto integral = [pi2](long k) { return k == 0 ? 2.0 / 3.0 : 4.0 * ((k % 2) ? -1.0 : 1.0) / (pi2 * double(k) * k); };
  std::vector<std::complex<double>> v(n / 2 + 1);
  for (int m = 0; m <= n / 2; ++m) {
    const double c = 0.25 * (integral(m + 1) + integral(std::abs(m - 1)));
    v[m] = double(n) * ((m % 2) ? -c : c);
  }
  return v;
}

}  // namespace

SpaceTimeGrid allen_cahn_reference(const AllenCahnParams& p) {
  constexpr int OUTPUT_POINTS = 512, OUTPUT_TIMES = 201;
  constexpr double OUTPUT_DT = 1.0 / 200;
  JETPINN_CHECK(p.modes >= OUTPUT_POINTS && p.modes % OUTPUT_POINTS == 0,
                "Allen–Cahn modes must be a multiple of 512 (the output grid is every modes/512-th point), got " << p.modes);
  const double steps_per_output = OUTPUT_DT / p.dt;
  const long steps = std::lround(steps_per_output);
  JETPINN_CHECK(p.dt > 0.0 && steps >= 1 && std::abs(steps_per_output - steps) < 1e-9 * steps,
                "Allen–Cahn dt must divide the output spacing 1/200, got dt = " << p.dt);
  JETPINN_CHECK(p.eps > 0.0, "Allen–Cahn diffusion must be positive, got " << p.eps);

  const int n = p.modes;
  std::vector<double> symbol(n / 2 + 1);
  for (int m = 0; m <= n / 2; ++m) symbol[m] = -p.eps * std::numbers::pi * std::numbers::pi * double(m) * m;
  const double r = p.reaction;
  FourierEtdrk4 stepper(std::move(symbol), OUTPUT_DT / steps,
                        [r](const std::vector<double>& u, std::vector<double>& nu) {
                          for (std::size_t i = 0; i < u.size(); ++i) nu[i] = r * u[i] * (1.0 - u[i] * u[i]);
                        },
                        p.contour_points);

  FourierEtdrk4::Spectrum v = initial_spectrum(n);
  std::vector<double> u(n);

  SpaceTimeGrid g;
  g.t.resize(OUTPUT_TIMES);
  g.x.resize(OUTPUT_POINTS);
  g.u.resize(static_cast<std::size_t>(OUTPUT_TIMES) * OUTPUT_POINTS);
  for (int k = 0; k < OUTPUT_POINTS; ++k) g.x[k] = -1.0 + k / 256.0;
  const int stride = n / OUTPUT_POINTS;
  for (int j = 0; j < OUTPUT_TIMES; ++j) {
    g.t[j] = j / 200.0;
    double* row = &g.u[static_cast<std::size_t>(j) * OUTPUT_POINTS];
    if (j == 0) {
      for (int k = 0; k < OUTPUT_POINTS; ++k) row[k] = allen_cahn_initial(g.x[k]);
      continue;
    }
    stepper.advance(v, steps);
    stepper.to_physical(v, u);
    for (int k = 0; k < OUTPUT_POINTS; ++k) row[k] = u[static_cast<std::size_t>(k) * stride];
  }
  return g;
}

}  // namespace jetpinn
