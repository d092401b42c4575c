// The trainer's checkpoint (see train.h): everything a run needs to continue with the same bits.
#include "train.h"

#include <cstdint>
#include <string>

namespace jetpinn {

namespace {
// a * b for sizes read from a checkpoint: negative or overflowing products are refused, not wrapped.
std::size_t checked_product(std::int64_t a, std::int64_t b, const std::string& what) {
  std::size_t out = 0;
  JETPINN_CHECK(a >= 0 && b >= 0 && !__builtin_mul_overflow(static_cast<std::size_t>(a), static_cast<std::size_t>(b), &out),
                "checkpoint " << what << " has an impossible shape " << a << " x " << b);
  return out;
}
}  // namespace

template <class T>
void Trainer<T>::save(Checkpoint& c) const {
  sync_host();
  pull_lambda();
  const ParamStore<T>& p = m_net.params();
  c.put("params", std::vector<T>(p.values(), p.values() + p.size()));
  if (m_backend) {
    std::vector<T> m, v;
    m_backend->get_adam_state(m, v);
    c.put("adam.m", m);
    c.put("adam.v", v);
  } else {
    c.put("adam.m", m_adam.m());
    c.put("adam.v", m_adam.v());
  }
  c.put("step", std::vector<std::int64_t>{m_step, m_backend ? m_adam_t : m_adam.t(), m_rba_updates});
  const Rng::State rs = m_rng.state();
  std::uint64_t spare;
  std::memcpy(&spare, &rs.spare, sizeof spare);
  c.put("rng", std::vector<std::uint64_t>{rs.s[0], rs.s[1], rs.s[2], rs.s[3], spare, rs.have_spare ? 1u : 0u});
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    const std::string k = "term." + m_terms[t].name + ".";
    const Term<T>& term = m_terms[t];
    c.put(k + "points", std::vector<T>(term.points.data(), term.points.data() + term.points.size()));
    c.put(k + "data", std::vector<T>(term.data.data(), term.data.data() + term.data.size()));
    c.put(k + "shape", std::vector<std::int64_t>{term.points.rows(), term.points.cols(), term.data.rows(), term.data.cols(),
                                                  m_lambda[t].rows(), m_lambda[t].cols()});
    c.put(k + "lambda", std::vector<T>(m_lambda[t].data(), m_lambda[t].data() + m_lambda[t].size()));
  }
  c.put("phases.steps", std::vector<std::int64_t>(m_phases.steps().begin(), m_phases.steps().end()));
  c.put("phases.snr", m_phases.snrs());
  if (m_lbfgs) {
    const LbfgsState<T> st = m_lbfgs->state();
    std::vector<T> s, y;
    for (const auto& v : st.s) s.insert(s.end(), v.begin(), v.end());
    for (const auto& v : st.y) y.insert(y.end(), v.begin(), v.end());
    c.put("lbfgs.s", s);
    c.put("lbfgs.y", y);
    c.put("lbfgs.g", st.g);
    c.put("lbfgs.scalars", std::vector<double>{st.h_diag, st.f});
    c.put("lbfgs.rho", st.rho);
    c.put("lbfgs.counts", std::vector<std::int64_t>{static_cast<std::int64_t>(st.s.size()), st.has_cache ? 1 : 0, st.iteration});
  }
  if (m_dense) {
    const DenseQnState st = m_dense->state();
    c.put_string("dense_qn.method", method_name(m_dense->config().method));
    c.put("dense_qn.h", st.h_lower);
    c.put("dense_qn.g", st.g);
    c.put("dense_qn.scalars", std::vector<double>{st.f});
    c.put("dense_qn.counts", std::vector<std::int64_t>{st.updates, st.has_cache ? 1 : 0, st.iteration});
  }
}

template <class T>
void Trainer<T>::load(const Checkpoint& c) {
  ParamStore<T>& p = m_net.params();
  const std::size_t n = static_cast<std::size_t>(p.size());
  std::vector<T> params = c.get_sized<T>("params", n);
  std::copy(params.begin(), params.end(), p.values());
  const auto steps = c.get_sized<std::int64_t>("step", 3);
  JETPINN_CHECK(steps[0] >= 0 && steps[1] >= 0 && steps[2] >= 0,
                "checkpoint step counters must be >= 0, got " << steps[0] << ", " << steps[1] << ", " << steps[2]);
  m_step = steps[0];
  m_rba_updates = steps[2];
  m_adam.set_state(steps[1], c.get_sized<T>("adam.m", n), c.get_sized<T>("adam.v", n));
  const auto r = c.get_sized<std::uint64_t>("rng", 6);
  Rng::State rs{{r[0], r[1], r[2], r[3]}, 0.0, r[5] != 0};
  std::memcpy(&rs.spare, &r[4], sizeof rs.spare);
  m_rng.set_state(rs);
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    const std::string k = "term." + m_terms[t].name + ".";
    Term<T>& term = m_terms[t];
    const auto sh = c.get_sized<std::int64_t>(k + "shape", 6);
    // The points are the configured count (config.json is what a resume runs with); data and multipliers
    // have one row per point or none.
    JETPINN_CHECK(sh[0] == term.count && sh[1] == term.points.cols() && (sh[2] == 0 || sh[2] == sh[0]) &&
                      (sh[4] == 0 || sh[4] == sh[0]),
                  "checkpoint term '" << term.name << "' holds " << sh[0] << " x " << sh[1] << " points (data rows "
                                      << sh[2] << ", multiplier rows " << sh[4] << "), but this run has " << term.count
                                      << " x " << term.points.cols());
    auto pts = c.get_sized<T>(k + "points", checked_product(sh[0], sh[1], k + "points"));
    auto dat = c.get_sized<T>(k + "data", checked_product(sh[2], sh[3], k + "data"));
    auto lam = c.get_sized<T>(k + "lambda", checked_product(sh[4], sh[5], k + "lambda"));
    term.count = sh[0];
    term.points = Eigen::Map<RowMat<T>>(pts.data(), sh[0], sh[1]);
    term.data = Eigen::Map<RowMat<T>>(dat.data(), sh[2], sh[3]);
    m_lambda[t] = Eigen::Map<RowMat<T>>(lam.data(), sh[4], sh[5]);
  }
  if (c.has("phases.steps")) {
    const auto ps = c.get<std::int64_t>("phases.steps");
    m_phases.replay(std::vector<long>(ps.begin(), ps.end()), c.get_sized<double>("phases.snr", ps.size()));
  }
  m_lbfgs.reset();
  m_dense.reset();
  // The checkpoint's quasi-Newton state must be the configured method's (config.json edited between runs?).
  JETPINN_CHECK(!c.has("lbfgs.counts") || !dense(),
                "the checkpoint holds L-BFGS state but optim.quasi_newton is " << m_opt.quasi_newton);
  if (c.has("dense_qn.counts")) {
    const std::string saved_method = c.get_string("dense_qn.method");
    JETPINN_CHECK(saved_method == m_opt.quasi_newton, "the checkpoint holds " << saved_method
                      << " state but optim.quasi_newton is " << m_opt.quasi_newton);
    if constexpr (std::is_same_v<T, double>) {
      const auto counts = c.get_sized<std::int64_t>("dense_qn.counts", 3);
      DenseQnState st;
      st.h_lower = c.get_sized<double>("dense_qn.h", checked_product(static_cast<std::int64_t>(n),
                                                                     static_cast<std::int64_t>(n + 1), "dense_qn.h") / 2);
      st.g = c.get_sized<double>("dense_qn.g", n);
      st.f = c.get_sized<double>("dense_qn.scalars", 1)[0];
      st.updates = counts[0];
      st.has_cache = counts[1] != 0;
      st.iteration = counts[2];
      m_dense = std::make_unique<DenseQuasiNewton>(p.size(), dense_config());
      m_dense->set_state(std::move(st));
    }
  }
  if (c.has("lbfgs.counts")) {
    const auto counts = c.get_sized<std::int64_t>("lbfgs.counts", 3);
    const auto pairs = static_cast<std::size_t>(counts[0]);
    JETPINN_CHECK(counts[0] >= 0 && pairs <= static_cast<std::size_t>(m_opt.lbfgs.history),
                  "checkpoint holds " << counts[0] << " L-BFGS pairs, more than the history of " << m_opt.lbfgs.history);
    LbfgsState<T> st;
    const std::size_t sn = checked_product(counts[0], static_cast<std::int64_t>(n), "lbfgs.s");
    const auto s = c.get_sized<T>("lbfgs.s", sn), y = c.get_sized<T>("lbfgs.y", sn);
    for (std::size_t i = 0; i < pairs; ++i) {
      st.s.emplace_back(s.begin() + static_cast<std::ptrdiff_t>(i * n), s.begin() + static_cast<std::ptrdiff_t>((i + 1) * n));
      st.y.emplace_back(y.begin() + static_cast<std::ptrdiff_t>(i * n), y.begin() + static_cast<std::ptrdiff_t>((i + 1) * n));
    }
    st.rho = c.get_sized<double>("lbfgs.rho", pairs);
    const auto sc = c.get_sized<double>("lbfgs.scalars", 2);
    st.h_diag = sc[0];
    st.f = sc[1];
    st.has_cache = counts[1] != 0;
    st.g = c.get<T>("lbfgs.g");
    st.iteration = counts[2];
    m_lbfgs = std::make_unique<Lbfgs<T>>(p.size(), m_opt.lbfgs);
    m_lbfgs->set_state(std::move(st));
  }
  if (m_backend) push_state();
}

// The class is instantiated in train.cpp; these are the members defined here, for float and double.
#define JETPINN_TRAINER_CHECKPOINT_MEMBERS(T) \
  template void Trainer<T>::save(Checkpoint&) const; \
  template void Trainer<T>::load(const Checkpoint&);
JETPINN_TRAINER_CHECKPOINT_MEMBERS(float)
JETPINN_TRAINER_CHECKPOINT_MEMBERS(double)
#undef JETPINN_TRAINER_CHECKPOINT_MEMBERS

}  // namespace jetpinn
