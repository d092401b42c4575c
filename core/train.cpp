// The training step on the host: construction, sampling, the loss and gradient, the optimizer switch and the
// host step (see train.h). The backend path, the measurements and the checkpoint are train_backend.cpp,
// train_diagnostics.cpp and train_checkpoint.cpp.
#include "train.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace jetpinn {

namespace {
template <class T>
bool all_finite(const T* p, Index n) {
  for (Index i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}
}  // namespace

template <class T>
Trainer<T>::Trainer(Mlp<T>& net, std::vector<Term<T>> terms, TrainOptions options, std::uint64_t seed)
    : m_net(net), m_terms(std::move(terms)), m_opt(std::move(options)), m_rng(seed), m_tape(&net.params()),
      m_adam(net.params().size(), m_opt.adam), m_phases(m_opt.diagnostics.phases) {
  m_opt.schedule.validate();
  m_tape.set_grad_stats(&m_grad_stats);
  int pde_terms = 0;
  for (const auto& t : m_terms) pde_terms += t.is_pde ? 1 : 0;
  if (pde_terms == 0) m_opt.diagnostics.enabled = false;  // the statistics are over collocation batches
  JETPINN_CHECK(!m_opt.diagnostics.enabled || pde_terms == 1,
                "gradient statistics batch one collocation (is_pde) term; this problem has " << pde_terms
                                                                                            << " (set diagnostics.enabled=false)");
  if (m_opt.diagnostics.enabled) m_opt.diagnostics.snr.validate();
  JETPINN_CHECK(!m_opt.switch_on_phase || m_opt.diagnostics.enabled,
                "optim.switch=phase waits for the phase detector, which reads the gradient-SNR measurements: set "
                "diagnostics.enabled=true (this problem needs one collocation term), or use optim.switch=step");
  if (dense()) {  // refused here, before any step, rather than at the switch
    const DenseQnConfig dc = dense_config();
    JETPINN_CHECK((std::is_same_v<T, double>), "optim.quasi_newton=" << m_opt.quasi_newton
                      << " (a dense inverse Hessian) runs in float64 only: set train.precision=f64 or use optim.quasi_newton=lbfgs");
    DenseQuasiNewton::check_size(net.params().size(), dc);
  }
  m_lambda.resize(m_terms.size());
  m_residual.resize(m_terms.size());
  m_lambda_fresh.assign(m_terms.size(), 1);
  m_residual_node.assign(m_terms.size(), ResidualNode{});
  for (auto& ids : m_residual_ids) ids.assign(m_terms.size(), ResidualNode{});
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    JETPINN_CHECK(m_terms[t].sample && m_terms[t].residual, "loss term '" << m_terms[t].name << "' has no sampler or residual");
    sample(t);
  }
}

template <class T>
DenseQnConfig Trainer<T>::dense_config() const {
  DenseQnConfig c;
  c.method = parse_dense_method(m_opt.quasi_newton);
  c.max_params = m_opt.dense_max_params;
  const LbfgsConfig& l = m_opt.lbfgs;
  c.tolerance_grad = l.tolerance_grad;
  c.tolerance_change = l.tolerance_change;
  c.max_line_search_evals = l.max_line_search_evals;
  c.c1 = l.c1;
  c.c2 = l.c2;
  c.lr = l.lr;
  return c;
}

template <class T>
void Trainer<T>::sample(std::size_t t) {
  Term<T>& term = m_terms[t];
  term.sample(term, m_rng);
  JETPINN_CHECK(term.points.rows() == term.count, "term '" << term.name << "' sampled " << term.points.rows()
                                                           << " points, expected " << term.count);
  m_lambda[t].resize(0, 0);  // sized at the first residual (its column count is known then)
  m_lambda_fresh[t] = 1;
}

template <class T>
double Trainer<T>::evaluate(bool update_rba, const GradStatsConfig* stats, GradSnr* snr) {
  m_tape.reset();
  m_net.params().zero_grad();
  if (stats) {  // B is capped at the number of collocation points
    GradStatsConfig c = *stats;
    for (const auto& term : m_terms)
      if (term.is_pde) c.batches = static_cast<int>(std::min<Index>(c.batches, term.count));
    m_grad_stats.begin(m_net.params(), c);
  }
  m_term_mse.assign(m_terms.size(), 0.0);
  Var<T> total;
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    const Term<T>& term = m_terms[t];
    m_tape.set_batched(stats && term.is_pde);
    Var<T> out = m_net.forward(m_tape, m_tape.input(term.points, term.streams));
    m_tape.set_batched(false);
    Var<T> r = term.residual(out, m_tape, term);
    const auto rv = r.value().mat();
    m_residual[t] = rv;
    m_term_mse[t] = rv.template cast<double>().squaredNorm() / static_cast<double>(std::max<Index>(1, rv.size()));
    Var<T> lt;
    if (term.is_pde) {
      RowMat<T>& lambda = m_lambda[t];
      const bool first = lambda.size() == 0;
      if (first) lambda = RowMat<T>::Zero(rv.rows(), rv.cols());
      JETPINN_CHECK(lambda.rows() == rv.rows() && lambda.cols() == rv.cols(),
                    "term '" << term.name << "': " << lambda.rows() << " x " << lambda.cols()
                             << " RBA multipliers (from the checkpoint?) for a " << rv.rows() << " x " << rv.cols() << " residual");
      if (update_rba) {
        RbaConfig rule = m_opt.rba;
        rule.init_from_residual = rule.init_from_residual || m_rba_restart;
        rba_update(rule, rv, lambda, m_rba_updates == 0 || m_rba_restart);
        ++m_rba_updates;
      }
      lt = m_opt.rba.enabled ? mean(square(r * m_tape.constant(lambda))) : mean(square(r));
    } else {
      lt = mean(square(r));
    }
    if (term.weight != 1.0) lt = lt * term.weight;
    total = t == 0 ? lt : total + lt;
  }
  m_tape.backward(total);
  if (stats) *snr = m_grad_stats.finish(m_net.params());
  return static_cast<double>(total.value()(0, 0));
}

template <class T>
double Trainer<T>::loss_and_gradient() {
  if (m_backend) {  // the gradient is left in the network's store, as on the host
    record_backend_evaluation(false, false, nullptr);
    const double f = backend_objective(nullptr, false);
    m_backend->pull_grads(m_net.params());
    return f;
  }
  return evaluate(false);
}

template <class T>
bool Trainer<T>::quasi_newton_now() const {
  const bool at_step = m_opt.lbfgs_from >= 0 && m_step >= m_opt.lbfgs_from;
  return at_step || (m_opt.switch_on_phase && m_phases.phase() == Phase::TotalDiffusion);
}

template <class T>
bool Trainer<T>::qn_refresh_due() const {
  const long k = m_opt.qn_refresh.every;
  return k > 0 && m_step % k == 0 && (m_lbfgs || m_dense);  // not at the first iteration: nothing is stale yet
}

template <class T>
void Trainer<T>::refresh_objective() {
  // Redrawn points restart their multipliers at |r| / max|r| (the update rule's fixed point for eta = 1 - gamma)
  // rather than from zero, which would shrink the objective by eta^2 under the quasi-Newton method's memory.
  m_rba_restart = m_opt.qn_refresh.redraw;
  if (m_opt.qn_refresh.redraw)
    for (std::size_t t = 0; t < m_terms.size(); ++t)
      if (m_terms[t].is_pde) sample(t);
  if (m_backend) {
    record_backend_evaluation(true, m_rba_updates == 0, nullptr);
    backend_objective(nullptr, false);
    ++m_rba_updates;
  } else {
    evaluate(true);
  }
  m_rba_restart = false;
  const bool reset = m_opt.qn_refresh.reset_memory;
  if (m_lbfgs) reset ? m_lbfgs->reset() : m_lbfgs->drop_cache();
  if (m_dense) reset ? m_dense->reset() : m_dense->drop_cache();
}

template <class T>
StepStats Trainer<T>::step() {
  if (m_backend) return backend_step();
  StepStats s;
  s.step = m_step;
  ParamStore<T>& params = m_net.params();
  const bool use_lbfgs = quasi_newton_now();
  if (!use_lbfgs) {
    if (m_opt.resample_every > 0 && m_step > 0 && m_step % m_opt.resample_every == 0)
      for (std::size_t t = 0; t < m_terms.size(); ++t)
        if (m_terms[t].is_pde) sample(t);
    const bool measure_now = m_opt.diagnostics.enabled && diagnostics_due(m_step, m_opt.diagnostics.every);
    const NanInjection& inj = m_opt.inject_nan;
    const bool inject = m_step == inj.step && m_injected < inj.times;
    m_injected += inject ? 1 : 0;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    if (inject && inj.what == "param") params.values()[0] = nan;
    GradSnr snr;
    s.loss = evaluate(true, measure_now ? &m_opt.diagnostics.snr : nullptr, &snr);
    s.term_mse = m_term_mse;
    s.lr = m_opt.schedule.lr(m_step);
    if (inject && inj.what == "loss") s.loss = static_cast<double>(nan);
    if (inject && inj.what == "grad") params.grads()[params.size() - 1] = nan;
    if (inject && inj.what == "rba")
      for (auto& l : m_lambda)
        if (l.size() > 0) l(0, 0) = nan;
    if (!std::isfinite(s.loss)) {
      s.bad = "the loss is " + std::to_string(s.loss);
      return s;
    }
    if (!all_finite(params.grads(), params.size())) {
      s.bad = "a parameter gradient is not finite";
      return s;
    }
    for (const auto& l : m_lambda)
      if (!all_finite(l.data(), l.size())) {
        s.bad = "an RBA multiplier is not finite";
        return s;
      }
    m_adam.step(params.values(), params.grads(), s.lr);
    if (measure_now) s.diag = measure(snr);
  } else {
    if (qn_refresh_due()) refresh_objective();
    std::vector<T> saved(params.values(), params.values() + params.size());
    bool bad = false;
    auto fn = [&](const T* x, T* g) {
      JETPINN_CHECK(x == params.values(), "the quasi-Newton method must evaluate in the parameter buffer");
      const double f = evaluate(false);
      std::memcpy(g, params.grads(), sizeof(T) * static_cast<std::size_t>(params.size()));
      if (!std::isfinite(f) || !all_finite(g, params.size())) bad = true;
      return f;
    };
    LbfgsStatus st;
    if (!dense()) {
      if (!m_lbfgs) m_lbfgs = std::make_unique<Lbfgs<T>>(params.size(), m_opt.lbfgs);
      st = m_lbfgs->iterate(fn, params.values());
    } else if constexpr (std::is_same_v<T, double>) {  // (float was refused by the constructor)
      if (!m_dense) m_dense = std::make_unique<DenseQuasiNewton>(params.size(), dense_config());
      st = m_dense->iterate(fn, params.values());
    }
    s.lbfgs = true;
    s.evals = st.evals;
    if (const char* why = st.why_stuck()) s.finished = why;
    s.loss = st.f;
    s.term_mse = m_term_mse;
    if (bad || !std::isfinite(st.f)) {
      std::copy(saved.begin(), saved.end(), params.values());
      s.bad = std::string("the loss or its gradient became non-finite during ") +
              (dense() ? "a " + m_opt.quasi_newton : std::string("an L-BFGS")) + " line search";
      return s;
    }
  }
  ++m_step;
  return s;
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace jetpinn
