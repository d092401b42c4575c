// L-BFGS iteration: two-loop direction, strong-Wolfe line search (bracket + cubic zoom), history upkeep,
// checkpoint state. Every n-vector operation goes through m_ops (VectorOps<T>); HostVectorOps' reductions are
// sequential loops accumulated in double, so host runs are reproducible bit for bit.
#include "lbfgs.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace jetpinn {

namespace {

// a * b rounded on its own. Out of line so that the caller's `c - product(a, b)` stays two roundings: g++
// contracts a product used once by a subtraction in the same block into one FMA, and the two-loop recursion
// computes alpha - rho y'd with rho y'd rounded first (as it always has; checkpoints continue bit for bit).
[[gnu::noinline]] double product(double a, double b) { return a * b; }

}  // namespace

void LbfgsConfig::validate() const {
  JETPINN_CHECK(history >= 1, "L-BFGS history must be >= 1 pair, got " << history);
  JETPINN_CHECK(tolerance_grad >= 0 && !std::isnan(tolerance_grad),
                "L-BFGS tolerance_grad must be >= 0, got " << tolerance_grad);
  JETPINN_CHECK(tolerance_change >= 0 && !std::isnan(tolerance_change),
                "L-BFGS tolerance_change must be >= 0, got " << tolerance_change);
  JETPINN_CHECK(max_line_search_evals >= 1,
                "L-BFGS max_line_search_evals must be >= 1, got " << max_line_search_evals);
  JETPINN_CHECK(c1 > 0 && c1 < c2 && c2 < 1,
                "L-BFGS line-search constants need 0 < c1 < c2 < 1, got c1 = " << c1 << ", c2 = " << c2);
  JETPINN_CHECK(std::isfinite(lr) && lr > 0, "L-BFGS lr (first trial step) must be finite and > 0, got " << lr);
}

template <class T>
Lbfgs<T>::Lbfgs(Index n, LbfgsConfig config, std::shared_ptr<VectorOps<T>> ops)
    : m_config(config), m_n(n), m_ops(std::move(ops)) {
  m_config.validate();
  JETPINN_CHECK(n >= 0, "L-BFGS needs a non-negative parameter count, got " << n);
  if (!m_ops) m_ops = std::make_shared<HostVectorOps<T>>();
  VectorOps<T>& v = *m_ops;
  m_g = Buffer(v, n);
  m_search = Search(v, n);
  m_sn = Buffer(v, n);
  m_yn = Buffer(v, n);
}

template <class T>
void Lbfgs<T>::clear_history() {
  m_s.clear();
  m_y.clear();
  m_rho.clear();
  m_h_diag = 1.0;
}

template <class T>
void Lbfgs<T>::reset() {
  clear_history();
  m_has_cache = false;
}

template <class T>
LbfgsState<T> Lbfgs<T>::state() const {
  LbfgsState<T> st;
  const auto un = static_cast<std::size_t>(m_n);
  auto download = [&](const Buffer& b) {
    std::vector<T> h(un);
    m_ops->download(m_n, b.data(), h.data());
    return h;
  };
  for (const Buffer& b : m_s) st.s.push_back(download(b));
  for (const Buffer& b : m_y) st.y.push_back(download(b));
  st.rho = m_rho;
  st.h_diag = m_h_diag;
  st.has_cache = m_has_cache;
  st.f = m_f;
  st.g = download(m_g);
  st.iteration = m_iteration;
  return st;
}

template <class T>
void Lbfgs<T>::set_state(LbfgsState<T> st) {
  const std::size_t k = st.s.size();
  JETPINN_CHECK(st.y.size() == k && st.rho.size() == k,
                "L-BFGS state: " << k << " s vectors but " << st.y.size() << " y vectors and " << st.rho.size()
                                 << " rho values; expected equal counts");
  JETPINN_CHECK(k <= static_cast<std::size_t>(m_config.history),
                "L-BFGS state holds " << k << " pairs, more than the configured history " << m_config.history);
  for (std::size_t i = 0; i < k; ++i) {
    JETPINN_CHECK(static_cast<Index>(st.s[i].size()) == m_n && static_cast<Index>(st.y[i].size()) == m_n,
                  "L-BFGS state: pair " << i << " has sizes " << st.s[i].size() << " and " << st.y[i].size()
                                        << ", expected " << m_n);
    JETPINN_CHECK(std::isfinite(st.rho[i]) && st.rho[i] > 0,
                  "L-BFGS state: rho[" << i << "] must be finite and > 0, got " << st.rho[i]);
  }
  JETPINN_CHECK(std::isfinite(st.h_diag) && st.h_diag > 0,
                "L-BFGS state: h_diag must be finite and > 0, got " << st.h_diag);
  JETPINN_CHECK(static_cast<Index>(st.g.size()) == m_n,
                "L-BFGS state: cached gradient has " << st.g.size() << " entries, expected " << m_n);
  JETPINN_CHECK(!st.has_cache || std::isfinite(st.f), "L-BFGS state: cached f is not finite (" << st.f << ")");
  JETPINN_CHECK(st.iteration >= 0, "L-BFGS state: iteration must be >= 0, got " << st.iteration);
  VectorOps<T>& v = *m_ops;
  std::vector<Buffer> s, y;
  for (std::size_t i = 0; i < k; ++i) {
    s.emplace_back(v, m_n);
    v.upload(m_n, st.s[i].data(), s.back().data());
    y.emplace_back(v, m_n);
    v.upload(m_n, st.y[i].data(), y.back().data());
  }
  v.upload(m_n, st.g.data(), m_g.data());
  m_s = std::move(s);
  m_y = std::move(y);
  m_rho = std::move(st.rho);
  m_h_diag = st.h_diag;
  m_has_cache = st.has_cache;
  m_f = st.f;
  m_iteration = st.iteration;
}

template <class T>
void Lbfgs<T>::direction() {
  // Two-loop recursion: d = -H g with H0 = h_diag I (Nocedal & Wright Alg. 7.4). Scaling by -1 negates
  // exactly, and d + (-a) y rounds like d - a y, so these are the bits of the loops written out.
  VectorOps<T>& v = *m_ops;
  const std::size_t k = m_s.size();
  T* d = m_search.direction();
  v.scale(m_n, -1.0, m_g.data(), d);
  std::vector<double> alpha(k);
  for (std::size_t j = k; j-- > 0;) {
    alpha[j] = m_rho[j] * v.dot(m_n, m_s[j].data(), d);
    v.axpy(m_n, -alpha[j], m_y[j].data(), d);
  }
  v.scale(m_n, m_h_diag, d, d);
  for (std::size_t j = 0; j < k; ++j) {
    const double beta = product(m_rho[j], v.dot(m_n, m_y[j].data(), d));
    v.axpy(m_n, alpha[j] - beta, m_s[j].data(), d);
  }
}

template <class T>
void Lbfgs<T>::push_pair(const T* x, const T* g_new) {
  VectorOps<T>& v = *m_ops;
  v.sub(m_n, x, m_search.start(), m_sn.data());  // the step actually taken, rounding included
  v.sub(m_n, g_new, m_g.data(), m_yn.data());
  const double ys = v.dot(m_n, m_sn.data(), m_yn.data()), ss = v.dot(m_n, m_sn.data(), m_sn.data()),
               yy = v.dot(m_n, m_yn.data(), m_yn.data());
  // Curvature guard, scale-free: without s'y > 0 the BFGS update would not stay positive definite.
  if (!(ys > 1e-10 * std::sqrt(ss) * std::sqrt(yy)) || !std::isfinite(ys) || !(yy > 0)) return;
  Buffer spare_s, spare_y;  // the evicted pair's buffers become the next candidates: no allocation
  if (m_s.size() == static_cast<std::size_t>(m_config.history)) {
    spare_s = std::move(m_s.front());
    spare_y = std::move(m_y.front());
    m_s.erase(m_s.begin());
    m_y.erase(m_y.begin());
    m_rho.erase(m_rho.begin());
  } else {
    spare_s = Buffer(v, m_n);
    spare_y = Buffer(v, m_n);
  }
  m_s.push_back(std::move(m_sn));
  m_y.push_back(std::move(m_yn));
  m_rho.push_back(1.0 / ys);
  m_h_diag = ys / yy;
  m_sn = std::move(spare_s);
  m_yn = std::move(spare_y);
}

template <class T>
LbfgsStatus Lbfgs<T>::iterate(const Objective& fn, T* x) {
  JETPINN_CHECK(m_n == 0 || x, "L-BFGS iterate: null parameter pointer");
  JETPINN_CHECK(static_cast<bool>(fn), "L-BFGS iterate: empty objective");
  VectorOps<T>& v = *m_ops;
  LbfgsStatus out;
  if (!m_has_cache) {
    m_f = fn(x, m_g.data());
    ++out.evals;
    JETPINN_CHECK(std::isfinite(m_f) && v.all_finite(m_n, m_g.data()),
                  "L-BFGS: objective or gradient is not finite at the starting point (f = " << m_f << ")");
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

  direction();
  double gtd = v.dot(m_n, m_g.data(), m_search.direction());
  if (!(gtd < 0) && !m_s.empty()) {  // the history no longer describes a positive-definite model
    clear_history();
    out.restarted = true;
    direction();
    gtd = v.dot(m_n, m_g.data(), m_search.direction());
  }
  const bool steepest = m_s.empty();
  if (!(gtd < 0)) {  // -g itself is no descent direction: g underflows; nothing to do
    out.stalled = true;
    return out;
  }
  double t = m_config.lr;
  if (steepest) {
    // Raw -g carries no curvature scale: start from a step of length <= lr in the l1 sense (PyTorch's rule).
    const double l1 = v.asum(m_n, m_g.data());
    t = std::min(1.0, 1.0 / l1) * m_config.lr;
  }

  v.copy(m_n, x, m_search.start());
  bool wolfe = false;
  const LineSearchSettings settings{m_config.c1, m_config.c2, m_config.tolerance_change, m_config.max_line_search_evals};
  const typename Search::Trial acc = m_search.search(fn, x, t, m_f, gtd, m_g.data(), settings, out.evals, wolfe);
  out.line_search_failed = !wolfe;
  if (acc.t == 0) {  // no trial satisfied even sufficient decrease: stay at x0
    v.copy(m_n, m_search.start(), x);
    if (steepest) {
      out.stalled = true;
    } else {
      clear_history();
      out.restarted = true;
    }
    return out;
  }
  m_search.set_point(x, acc.t);  // the exact point acc was evaluated at (x may hold a later trial)

  push_pair(x, m_search.accepted_gradient().data());
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

template class Lbfgs<float>;
template class Lbfgs<double>;

}  // namespace jetpinn
