// Dense quasi-Newton iteration (see dense_qn.h): direction -H g, the shared strong-Wolfe search, and the Broyden
// family update of H with self-scaling. Vector reductions go through HostVectorOps (sequential double sums), the
// matrix work through Eigen on the lower triangle: a run is reproducible bit for bit for a given BLAS and thread
// count, and a restored state continues with the same bits.
#include "dense_qn.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace jetpinn {

QuasiNewtonMethod parse_dense_method(const std::string& name) {
  if (name == "bfgs") return QuasiNewtonMethod::Bfgs;
  if (name == "ssbfgs") return QuasiNewtonMethod::SsBfgs;
  if (name == "ssbroyden") return QuasiNewtonMethod::SsBroyden;
  JETPINN_CHECK(false, "unknown dense quasi-Newton method '" << name << "'; choices: bfgs, ssbfgs, ssbroyden");
}

const char* method_name(QuasiNewtonMethod method) {
  switch (method) {
    case QuasiNewtonMethod::Bfgs: return "bfgs";
    case QuasiNewtonMethod::SsBfgs: return "ssbfgs";
    case QuasiNewtonMethod::SsBroyden: return "ssbroyden";
  }
  return "?";
}

void DenseQnConfig::validate() const {
  JETPINN_CHECK(max_params >= 1, "dense quasi-Newton max_params must be >= 1, got " << max_params);
  JETPINN_CHECK(tolerance_grad >= 0 && !std::isnan(tolerance_grad),
                "dense quasi-Newton tolerance_grad must be >= 0, got " << tolerance_grad);
  JETPINN_CHECK(tolerance_change >= 0 && !std::isnan(tolerance_change),
                "dense quasi-Newton tolerance_change must be >= 0, got " << tolerance_change);
  JETPINN_CHECK(max_line_search_evals >= 1,
                "dense quasi-Newton max_line_search_evals must be >= 1, got " << max_line_search_evals);
  JETPINN_CHECK(c1 > 0 && c1 < c2 && c2 < 1,
                "dense quasi-Newton line-search constants need 0 < c1 < c2 < 1, got c1 = " << c1 << ", c2 = " << c2);
  JETPINN_CHECK(std::isfinite(lr) && lr > 0, "dense quasi-Newton lr (first trial step) must be finite and > 0, got " << lr);
}

void DenseQuasiNewton::check_size(Index n, const DenseQnConfig& c) {
  JETPINN_CHECK(n <= c.max_params,
                method_name(c.method) << " keeps a dense " << n << " x " << n << " inverse Hessian ("
                    << 8.0 * static_cast<double>(n) * static_cast<double>(n) / (1024.0 * 1024.0 * 1024.0)
                    << " GiB); " << n << " parameters is above the limit of " << c.max_params
                    << " (optim.dense_max_params): use L-BFGS (optim.quasi_newton=lbfgs) for a network this large");
}

DenseQuasiNewton::DenseQuasiNewton(Index n, DenseQnConfig config) : m_config(config), m_n(n) {
  m_config.validate();
  JETPINN_CHECK(n >= 0, "dense quasi-Newton needs a non-negative parameter count, got " << n);
  check_size(n, m_config);
  m_ops = std::make_shared<HostVectorOps<double>>();
  m_g = Buffer(*m_ops, n);
  m_search = Search(*m_ops, n);
  m_h.resize(n, n);
  m_s.resize(n);
  m_y.resize(n);
  m_hy.resize(n);
  m_u.resize(n);
  set_identity();
}

void DenseQuasiNewton::set_identity() {
  m_h.setIdentity();
  m_updates = 0;
}

void DenseQuasiNewton::reset() {
  set_identity();
  m_has_cache = false;
}

DenseQnState DenseQuasiNewton::state() const {
  DenseQnState st;
  st.h_lower.reserve(static_cast<std::size_t>(m_n) * static_cast<std::size_t>(m_n + 1) / 2);
  for (Index j = 0; j < m_n; ++j)
    for (Index i = j; i < m_n; ++i) st.h_lower.push_back(m_h(i, j));
  st.updates = m_updates;
  st.has_cache = m_has_cache;
  st.f = m_f;
  st.g.assign(m_g.data(), m_g.data() + m_n);
  st.iteration = m_iteration;
  return st;
}

void DenseQuasiNewton::set_state(DenseQnState st) {
  const std::size_t n = static_cast<std::size_t>(m_n), packed = n * (n + 1) / 2;
  JETPINN_CHECK(st.h_lower.size() == packed, "dense quasi-Newton state: H has " << st.h_lower.size()
                                                  << " lower-triangle entries, expected " << packed << " for n = " << n);
  JETPINN_CHECK(st.g.size() == n, "dense quasi-Newton state: cached gradient has " << st.g.size() << " entries, expected " << n);
  JETPINN_CHECK(st.updates >= 0 && st.iteration >= 0, "dense quasi-Newton state: updates (" << st.updates
                                                          << ") and iteration (" << st.iteration << ") must be >= 0");
  JETPINN_CHECK(!st.has_cache || std::isfinite(st.f), "dense quasi-Newton state: cached f is not finite (" << st.f << ")");
  std::size_t k = 0;
  for (Index j = 0; j < m_n; ++j)
    for (Index i = j; i < m_n; ++i, ++k) {
      const double v = st.h_lower[k];
      JETPINN_CHECK(std::isfinite(v) && (i != j || v > 0),
                    "dense quasi-Newton state: H(" << i << ", " << j << ") = " << v
                                                   << " (entries must be finite, the diagonal positive)");
    }
  k = 0;
  for (Index j = 0; j < m_n; ++j)
    for (Index i = j; i < m_n; ++i) m_h(i, j) = st.h_lower[k++];
  m_ops->upload(m_n, st.g.data(), m_g.data());
  m_updates = st.updates;
  m_has_cache = st.has_cache;
  m_f = st.f;
  m_iteration = st.iteration;
}

void DenseQuasiNewton::update(const double* x, const double* g_new, double step, DenseQnStatus& out) {
  HostVectorOps<double>& v = *m_ops;
  const double* x0 = m_search.start();
  v.sub(m_n, x, x0, m_s.data());  // the step actually taken, rounding included
  v.sub(m_n, g_new, m_g.data(), m_y.data());
  const double sy = v.dot(m_n, m_s.data(), m_y.data()), ss = v.dot(m_n, m_s.data(), m_s.data()),
               yy = v.dot(m_n, m_y.data(), m_y.data());
  // Curvature guard, scale-free: without s'y > 0 no update of the family keeps H positive definite.
  if (!(sy > 1e-10 * std::sqrt(ss) * std::sqrt(yy)) || !std::isfinite(sy) || !(yy > 0)) {
    out.update_skipped = true;
    return;
  }
  auto lower = m_h.selfadjointView<Eigen::Lower>();
  const bool first = m_updates == 0;
  if (first) m_h.diagonal().setConstant(sy / yy);  // H0 = (s'y / y'y) I, Nocedal & Wright eq. 6.20

  const double r = 1.0 / sy;
  m_hy.noalias() = lower * m_y;
  const double q = v.dot(m_n, m_y.data(), m_hy.data());  // y'Hy
  double tau = 1, phi = 1;
  if (m_config.method != QuasiNewtonMethod::Bfgs && !first) {
    // Urbán et al. (arXiv:2405.04230, Sec. 3): b_k = s'H^{-1}s / s'y, with H^{-1}s = -step g (s = step d,
    // d = -H g), h_k = y'Hy / s'y, a_k = b_k h_k - 1 >= 0 (Cauchy-Schwarz; 0 when Hy is parallel to s).
    const double b = -step * v.dot(m_n, m_s.data(), m_g.data()) * r;
    const double h = q * r;
    const double a = std::max(0.0, b * h - 1);
    double theta = 0;  // ssbfgs: theta = 0, i.e. phi = 1 (the BFGS member)
    if (m_config.method == QuasiNewtonMethod::SsBroyden && a > 1e-12) {
      // theta_k clipped between theta^- = (rho^- - 1) / a and theta^+ = 1 / rho^-, around (1 - b) / b, with
      // rho^- = min(1, h (1 - sqrt(a / (1 + a)))). For a -> 0 every member of the family gives the same H.
      const double rho_minus = std::min(1.0, h * (1 - std::sqrt(a / (1 + a))));
      const double theta_minus = (rho_minus - 1) / a, theta_plus = 1 / rho_minus;
      theta = std::max(theta_minus, std::min(theta_plus, (1 - b) / b));
    }
    // tau_k from sigma = 1 + a theta and its root sigma^(1/(1-n)); rho_k = min(1, 1/b_k) is Al-Baali's factor,
    // which is tau_k itself for theta = 0 (ssbfgs).
    const double sigma = 1 + a * theta;
    const double sigma_root = m_n > 1 ? std::pow(std::abs(sigma), 1.0 / static_cast<double>(1 - m_n)) : 1.0;
    const double rho_k = std::min(1.0, 1.0 / b);
    tau = theta <= 0 ? std::min(rho_k * sigma_root, sigma) : rho_k * std::min(sigma_root, 1 / theta);
    phi = (1 - theta) / (1 + a * theta);
    if (!(std::isfinite(tau) && tau > 0 && std::isfinite(phi) && b > 0)) tau = phi = 1;  // degenerate data: BFGS
  }
  out.tau = tau;
  out.phi = phi;
  // H+ = (H - Hy y'H / y'Hy + phi y'Hy v v') / tau + s s' / s'y, v = s / s'y - Hy / y'Hy (the Broyden family,
  // self-scaled; Urbán et al. Sec. 3). Expanded into updates of the lower triangle:
  //   H/tau + ((phi - 1) / (q tau)) w w' + s u' + u s',  w = Hy, q = y'Hy, r = 1 / s'y,
  //   u = -(phi r / tau) w + (phi q r^2 / tau + r) s / 2.
  // phi = tau = 1 leaves H - r (s w' + w s') + r (1 + r q) s s': BFGS (Nocedal & Wright eq. 6.17).
  if (tau != 1) m_h.triangularView<Eigen::Lower>() *= 1 / tau;
  if (phi != 1) lower.rankUpdate(m_hy, (phi - 1) / (q * tau));
  m_u = (-phi * r / tau) * m_hy + (0.5 * (phi * q * r * r / tau + r)) * m_s;
  lower.rankUpdate(m_s, m_u, 1.0);
  ++m_updates;
}

DenseQnStatus DenseQuasiNewton::iterate(const Objective& fn, double* x) {
  JETPINN_CHECK(m_n == 0 || x, "dense quasi-Newton iterate: null parameter pointer");
  JETPINN_CHECK(static_cast<bool>(fn), "dense quasi-Newton iterate: empty objective");
  HostVectorOps<double>& v = *m_ops;
  DenseQnStatus out;
  if (!m_has_cache) {
    m_f = fn(x, m_g.data());
    ++out.evals;
    JETPINN_CHECK(std::isfinite(m_f) && v.all_finite(m_n, m_g.data()),
                  "dense quasi-Newton: objective or gradient is not finite at the starting point (f = " << m_f << ")");
    m_has_cache = true;
  }
  out.f = m_f;
  out.grad_inf = v.max_abs(m_n, m_g.data());
  out.iteration = m_iteration;
  if (out.grad_inf <= m_config.tolerance_grad) {
    out.converged = true;
    return out;
  }
  out.iteration = ++m_iteration;

  // d = -H g. Eigen works on its own (aligned) vectors only: how it splits a loop into packets depends on
  // alignment, and a restored run's buffers sit elsewhere in the heap.
  double* d = m_search.direction();
  v.copy(m_n, m_g.data(), m_s.data());
  m_u.noalias() = m_h.selfadjointView<Eigen::Lower>() * m_s;
  v.scale(m_n, -1.0, m_u.data(), d);
  double gtd = v.dot(m_n, m_g.data(), d);
  if (!(gtd < 0) && m_updates > 0) {  // H lost positive definiteness (rounding): start over from the identity
    set_identity();
    out.restarted = true;
    v.scale(m_n, -1.0, m_g.data(), d);
    gtd = v.dot(m_n, m_g.data(), d);
  }
  const bool steepest = m_updates == 0;
  if (!(gtd < 0)) {  // -g itself is no descent direction: g underflows; nothing to do
    out.stalled = true;
    return out;
  }
  double t = m_config.lr;
  if (steepest) t = std::min(1.0, 1.0 / v.asum(m_n, m_g.data())) * m_config.lr;  // as L-BFGS without history

  v.copy(m_n, x, m_search.start());
  bool wolfe = false;
  const LineSearchSettings settings{m_config.c1, m_config.c2, m_config.tolerance_change, m_config.max_line_search_evals};
  const Search::Trial acc = m_search.search(fn, x, t, m_f, gtd, m_g.data(), settings, out.evals, wolfe);
  out.line_search_failed = !wolfe;
  if (acc.t == 0) {  // no trial satisfied even sufficient decrease: stay at x0
    v.copy(m_n, m_search.start(), x);
    if (steepest) {
      out.stalled = true;
    } else {
      set_identity();  // the model misled the search: start over from a (scaled, at the next pair) identity
      out.restarted = true;
    }
    return out;
  }
  m_search.set_point(x, acc.t);  // the exact point acc was evaluated at (x may hold a later trial)

  update(x, m_search.accepted_gradient().data(), acc.t, out);
  const double max_step = v.max_abs_diff(m_n, x, m_search.start());
  const double f_old = m_f;
  m_g.swap(m_search.accepted_gradient());
  m_f = acc.f;

  out.f = m_f;
  out.grad_inf = v.max_abs(m_n, m_g.data());
  out.step = acc.t;
  out.converged = out.grad_inf <= m_config.tolerance_grad || std::abs(out.f - f_old) < m_config.tolerance_change ||
                  max_step <= m_config.tolerance_change;
  return out;
}

}  // namespace jetpinn
