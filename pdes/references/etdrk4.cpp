// ETDRK4 stepping (see etdrk4.h). With v = û, z = h L_m per mode, and N̂(v) = FFT(N(IFFT(v))):
//   a = e^{z/2} v + Q N̂(v),   b = e^{z/2} v + Q N̂(a),   c = e^{z/2} a + Q (2 N̂(b) − N̂(v)),
//   v_new = e^{z} v + f1 N̂(v) + 2 f2 (N̂(a) + N̂(b)) + f3 N̂(c),
// Q = h (e^{z/2} − 1)/z, f1 = h (−4 − z + e^z (4 − 3z + z²))/z³, f2 = h (2 + z + e^z (z − 2))/z³,
// f3 = h (−4 − 3z − z² + e^z (4 − z))/z³. Each is evaluated as the mean of the same expression over
// z + e^{2πi(j−1/2)/M}, j = 1..M (Cauchy's integral formula on a unit circle; the trapezoid rule converges
// geometrically for these entire functions), which keeps full precision where the closed forms cancel (|z| << 1).
#include "etdrk4.h"

#include <cmath>
#include <numbers>

#include "check.h"

namespace jetpinn {

FourierEtdrk4::FourierEtdrk4(std::vector<double> linear_symbol, double dt, Nonlinear nonlinear, int contour_points)
    : m_n(2 * (static_cast<int>(linear_symbol.size()) - 1)), m_dt(dt), m_nonlinear(std::move(nonlinear)) {
  JETPINN_CHECK(linear_symbol.size() >= 2, "ETDRK4 needs the symbol of n/2 + 1 >= 2 modes, got " << linear_symbol.size());
  JETPINN_CHECK(dt > 0.0, "ETDRK4 time step must be positive, got " << dt);
  JETPINN_CHECK(contour_points >= 8, "ETDRK4 contour needs at least 8 points, got " << contour_points);
  JETPINN_CHECK(m_nonlinear, "ETDRK4 needs a nonlinear term (a function that may write zeros)");
  m_fft.SetFlag(Eigen::FFT<double>::HalfSpectrum);
  const std::size_t modes = linear_symbol.size();
  m_e.resize(modes), m_e2.resize(modes), m_q.resize(modes), m_f1.resize(modes), m_f2.resize(modes), m_f3.resize(modes);
  using C = std::complex<double>;
  for (std::size_t m = 0; m < modes; ++m) {
    const double z = dt * linear_symbol[m];
    m_e[m] = std::exp(z);
    m_e2[m] = std::exp(z / 2);
    C q = 0.0, f1 = 0.0, f2 = 0.0, f3 = 0.0;
    for (int j = 0; j < contour_points; ++j) {
      const C r = std::polar(1.0, 2.0 * std::numbers::pi * (j + 0.5) / contour_points);
      const C zz = z + r, ez = std::exp(zz), z3 = zz * zz * zz;
      q += (std::exp(zz / 2.0) - 1.0) / zz;
      f1 += (-4.0 - zz + ez * (4.0 - 3.0 * zz + zz * zz)) / z3;
      f2 += (2.0 + zz + ez * (zz - 2.0)) / z3;
      f3 += (-4.0 - 3.0 * zz - zz * zz + ez * (4.0 - zz)) / z3;
    }
    m_q[m] = dt * q.real() / contour_points;
    m_f1[m] = dt * f1.real() / contour_points;
    m_f2[m] = dt * f2.real() / contour_points;
    m_f3[m] = dt * f3.real() / contour_points;
  }
  m_u.resize(m_n);
  m_nu.resize(m_n);
}

void FourierEtdrk4::nonlinear_hat(const std::vector<std::complex<double>>& v_hat, std::vector<std::complex<double>>& n_hat) {
  m_fft.inv(m_u.data(), v_hat.data(), m_n);
  m_nonlinear(m_u, m_nu);
  JETPINN_CHECK(m_nu.size() == static_cast<std::size_t>(m_n), "ETDRK4 nonlinear term wrote " << m_nu.size()
                                                                 << " values, expected " << m_n);
  m_fft.fwd(n_hat.data(), m_nu.data(), m_n);
}

FourierEtdrk4::Spectrum FourierEtdrk4::to_spectrum(const std::vector<double>& u) {
  JETPINN_CHECK(u.size() == static_cast<std::size_t>(m_n), "ETDRK4 state has " << u.size() << " samples, expected " << m_n);
  Spectrum v(m_e.size());
  m_fft.fwd(v.data(), u.data(), m_n);
  return v;
}

void FourierEtdrk4::to_physical(const Spectrum& v, std::vector<double>& u) {
  JETPINN_CHECK(v.size() == m_e.size(), "ETDRK4 spectrum has " << v.size() << " modes, expected " << m_e.size());
  u.resize(m_n);
  m_fft.inv(u.data(), v.data(), m_n);
}

void FourierEtdrk4::advance(Spectrum& v, long steps) {
  JETPINN_CHECK(v.size() == m_e.size(), "ETDRK4 spectrum has " << v.size() << " modes, expected " << m_e.size());
  const std::size_t modes = m_e.size();
  Spectrum a(modes), b(modes), c(modes), nv(modes), na(modes), nb(modes), nc(modes);
  for (long s = 0; s < steps; ++s) {
    nonlinear_hat(v, nv);
    for (std::size_t m = 0; m < modes; ++m) a[m] = m_e2[m] * v[m] + m_q[m] * nv[m];
    nonlinear_hat(a, na);
    for (std::size_t m = 0; m < modes; ++m) b[m] = m_e2[m] * v[m] + m_q[m] * na[m];
    nonlinear_hat(b, nb);
    for (std::size_t m = 0; m < modes; ++m) c[m] = m_e2[m] * a[m] + m_q[m] * (2.0 * nb[m] - nv[m]);
    nonlinear_hat(c, nc);
    for (std::size_t m = 0; m < modes; ++m)
      v[m] = m_e[m] * v[m] + m_f1[m] * nv[m] + 2.0 * m_f2[m] * (na[m] + nb[m]) + m_f3[m] * nc[m];
  }
}

}  // namespace jetpinn
