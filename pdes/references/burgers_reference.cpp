// Cole–Hopf evaluation of the Burgers reference (see burgers_reference.h). With c = sqrt(4νt), y_i = x − c s_i:
//   u = −Σ a_i sin(πy_i) / Σ a_i,   a_i = w_i f(y_i) = exp(log w_i − cos(πy_i)/(2πν) − M),
// where M = max_i of the exponent: the kernel f spans exp(±50) and the weights exp(−s²) reach far below double
// range, so only the shifted exponent is ever exponentiated. The x-derivative uses f' = f sin(πy)/(2ν):
//   N_x = Σ a_i [π cos(πy_i) + sin²(πy_i)/(2ν)],  D_x = Σ a_i sin(πy_i)/(2ν),  u_x = −N_x/D − u D_x/D.
#include "burgers_reference.h"

#include <algorithm>
#include <cmath>

#include "check.h"

namespace jetpinn {

BurgersReference::BurgersReference(const BurgersParams& params)
    : m_params(params), m_rule(gauss_hermite_rule(params.quadrature_nodes)) {
  JETPINN_CHECK(params.nu > 0.0, "Burgers viscosity must be positive, got " << params.nu);
}

BurgersValue BurgersReference::u_and_u_x(double t, double x) const {
  JETPINN_CHECK(t >= 0.0, "Burgers reference needs t >= 0, got " << t);
  const double pi = std::numbers::pi, nu = m_params.nu;
  if (t == 0.0) return {-std::sin(pi * x), -pi * std::cos(pi * x)};
  const double c = std::sqrt(4.0 * nu * t);
  const std::size_t n = m_rule.nodes.size();
  // Exponents first, then one pass of shifted exponentials.
  double m = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    const double y = x - c * m_rule.nodes[i];
    m = std::max(m, m_rule.log_weights[i] - std::cos(pi * y) / (2.0 * pi * nu));
  }
  double d = 0.0, num = 0.0, num_x = 0.0, d_x = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double y = x - c * m_rule.nodes[i];
    const double sy = std::sin(pi * y), cy = std::cos(pi * y);
    const double a = std::exp(m_rule.log_weights[i] - cy / (2.0 * pi * nu) - m);
    d += a;
    num += a * sy;
    num_x += a * (pi * cy + sy * sy / (2.0 * nu));
    d_x += a * sy / (2.0 * nu);
  }
  const double u = -num / d;
  return {u, -num_x / d - u * d_x / d};
}

std::vector<double> BurgersReference::u_at(const std::vector<double>& t, const std::vector<double>& x) const {
  JETPINN_CHECK(t.size() == x.size(), "Burgers reference: " << t.size() << " times but " << x.size() << " positions");
  std::vector<double> out(t.size());
#pragma omp parallel for schedule(static)
  for (std::size_t k = 0; k < t.size(); ++k) out[k] = u(t[k], x[k]);
  return out;
}

SpaceTimeGrid BurgersReference::grid(const std::vector<double>& t, const std::vector<double>& x) const {
  SpaceTimeGrid g{t, x, std::vector<double>(t.size() * x.size())};
#pragma omp parallel for schedule(static)
  for (std::size_t it = 0; it < t.size(); ++it)
    for (std::size_t ix = 0; ix < x.size(); ++ix) g.u[it * x.size() + ix] = u(t[it], x[ix]);
  return g;
}

SpaceTimeGrid BurgersReference::classic_grid() const {
  std::vector<double> t(100), x(256);
  // numpy's linspace arithmetic, so the points match the classic data set's bit for bit: start + i·step, with
  // step = (stop − start)/(num − 1), and the last point set to stop.
  for (int j = 0; j < 100; ++j) t[j] = j * (0.99 / 99.0);
  for (int k = 0; k < 256; ++k) x[k] = k * (2.0 / 255.0) - 1.0;
  t.back() = 0.99;
  x.back() = 1.0;
  return grid(t, x);
}

}  // namespace jetpinn
