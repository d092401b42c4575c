// Fourier pseudo-spectral ETDRK4 (Cox & Matthews 2002, in the form of Kassam & Trefethen 2005) for
//   u_t = L u + N(u)   on a periodic interval, u real, sampled at n equispaced points,
// where L is diagonal in Fourier space (a real symbol L_m for the modes m = 0..n/2 of the real FFT) and N acts
// on the samples in physical space. The phi-function coefficients come from contour integrals (mean over M points
// on a unit circle around each h·L_m; M = 64 on the full circle is Kassam & Trefethen's 32 on the upper half for
// real L), which avoids the cancellation of their closed forms near h·L_m = 0.
// Each step: 4 evaluations of N, 4 inverse and 4 forward real FFTs of size n (Eigen's kissfft).
#pragma once
#include <complex>
#include <functional>
#include <unsupported/Eigen/FFT>
#include <vector>

namespace jetpinn {

class FourierEtdrk4 {
 public:
  // N(u) on the n samples: reads u, writes n_of_u (same size).
  using Nonlinear = std::function<void(const std::vector<double>& u, std::vector<double>& n_of_u)>;

  // linear_symbol has n/2 + 1 entries; n even; dt > 0; contour_points >= 8.
  FourierEtdrk4(std::vector<double> linear_symbol, double dt, Nonlinear nonlinear, int contour_points = 64);

  // Spectral state: the real FFT of the n samples, modes m = 0..n/2 (unnormalised: the DFT sums).
  using Spectrum = std::vector<std::complex<double>>;
  Spectrum to_spectrum(const std::vector<double>& u);
  void to_physical(const Spectrum& v, std::vector<double>& u);

  // Advances the spectral state by `steps` steps of dt.
  void advance(Spectrum& v, long steps);
  // Advances the samples u (n values) by `steps` steps of dt.
  void advance(std::vector<double>& u, long steps) {
    Spectrum v = to_spectrum(u);
    advance(v, steps);
    to_physical(v, u);
  }

  int size() const { return m_n; }
  double dt() const { return m_dt; }

 private:
  void nonlinear_hat(const std::vector<std::complex<double>>& v_hat, std::vector<std::complex<double>>& n_hat);

  int m_n;
  double m_dt;
  Nonlinear m_nonlinear;
  // Per mode: e^{hL}, e^{hL/2}, Q = h φ1-type half-step weight, and the three ETDRK4 update weights f1, f2, f3.
  std::vector<double> m_e, m_e2, m_q, m_f1, m_f2, m_f3;
  Eigen::FFT<double> m_fft;
  std::vector<double> m_u, m_nu;  // physical-space scratch
};

}  // namespace jetpinn
