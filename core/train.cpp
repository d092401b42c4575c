// The training step (see train.h).
#include "train.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "homogeneity.h"

namespace jetpinn {

namespace {
// a * b for sizes read from a checkpoint: negative or overflowing products are refused, not wrapped.
std::size_t checked_product(std::int64_t a, std::int64_t b, const std::string& what) {
  std::size_t out = 0;
  JETPINN_CHECK(a >= 0 && b >= 0 && !__builtin_mul_overflow(static_cast<std::size_t>(a), static_cast<std::size_t>(b), &out),
                "checkpoint " << what << " has an impossible shape " << a << " x " << b);
  return out;
}

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
GradSnr Trainer<T>::gradient_stats(const GradStatsConfig& config) {
  GradSnr snr;
  if (m_backend) {
    record_backend_evaluation(false, false, &config);
    backend_objective(&snr, true);
    m_backend->pull_grads(m_net.params());
    return snr;
  }
  evaluate(false, &config, &snr);
  return snr;
}

template <class T>
StepDiagnostics Trainer<T>::measure(const GradSnr& snr) {
  const DiagnosticsOptions& o = m_opt.diagnostics;
  StepDiagnostics d;
  d.grad = snr;
  if (m_backend) {  // the moments live in the backend: read them back for this measurement
    Adam<T> copy(m_net.params().size(), m_opt.adam);
    std::vector<T> m, v;
    m_backend->get_adam_state(m, v);
    copy.set_state(m_adam_t, std::move(m), std::move(v));
    d.snr_adam = copy.snr();
  } else {
    d.snr_adam = m_adam.snr();
  }
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    if (!m_terms[t].is_pde) continue;
    const RowMat<T>& pts = m_terms[t].points;
    std::vector<double> lo = o.domain_lo, hi = o.domain_hi;
    if (lo.empty())
      for (Index c = 0; c < pts.cols(); ++c) {
        lo.push_back(static_cast<double>(pts.col(c).minCoeff()));
        hi.push_back(static_cast<double>(pts.col(c).maxCoeff()));
      }
    d.phi_rba = homogeneity(pts, lambda(t), lo, hi, o.cells);
    d.phi_res = homogeneity(pts, residual(t), lo, hi, o.cells);
  }
  d.transition = m_phases.add(m_step + 1, snr.snr);  // dated like the metrics line: steps done
  d.phase = m_phases.phase();
  return d;
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

// ---- The backend path ----

template <class T>
void Trainer<T>::set_backend(std::shared_ptr<Backend<T>> backend) {
  JETPINN_CHECK(!backend || !dense(), "optim.quasi_newton=" << m_opt.quasi_newton
                    << " keeps its dense inverse Hessian on the host: use train.backend=cpu or optim.quasi_newton=lbfgs");
  if (m_backend) {  // back to the host first: everything the old backend holds
    sync_host();
    pull_lambda();
    pull_residuals();
    std::vector<T> m, v;
    m_backend->get_adam_state(m, v);
    m_adam.set_state(m_adam_t, std::move(m), std::move(v));
    if (m_lbfgs) {
      const LbfgsState<T> st = m_lbfgs->state();
      m_lbfgs = std::make_unique<Lbfgs<T>>(m_net.params().size(), m_opt.lbfgs);
      m_lbfgs->set_state(st);
    }
    m_backend->ops().reset_capture();
  }
  m_backend = std::move(backend);
  m_tape.reset();
  m_tape.set_backend(m_backend.get());
  m_graph_ready = false;
  if (!m_backend) {
    m_vectors.reset();
    return;
  }
  m_backend->attach(m_net.params());
  m_vectors = m_backend->ops().vector_ops();
  m_scalars.assign(static_cast<std::size_t>(scalar_count()), 0.0);
  m_backend->scalars(scalar_count());
  push_state();
}

template <class T>
void Trainer<T>::push_state() {
  m_backend->push_params(m_net.params());
  m_backend->set_adam_state(m_adam.m(), m_adam.v());
  m_adam_t = m_adam.t();
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    m_lambda_fresh[t] = m_lambda[t].size() == 0;
    if (!m_lambda_fresh[t])
      m_backend->ops().upload(m_backend->slot(static_cast<int>(t), m_lambda[t].size()), m_lambda[t].data(),
                              sizeof(T) * static_cast<std::size_t>(m_lambda[t].size()));
  }
  if (m_lbfgs) {  // its vectors move into the backend's memory
    const LbfgsState<T> st = m_lbfgs->state();
    m_lbfgs = std::make_unique<Lbfgs<T>>(m_net.params().size(), m_opt.lbfgs, m_vectors);
    m_lbfgs->set_state(st);
  }
  m_params_stale = m_lambda_stale = m_residual_stale = false;
  m_graph_ready = false;
  m_backend->ops().reset_capture();
}

template <class T>
void Trainer<T>::params_changed() {
  if (!m_backend) return;
  m_backend->push_params(m_net.params());
  m_params_stale = false;
}

template <class T>
void Trainer<T>::sync_host() const {
  if (!m_backend || !m_params_stale) return;
  m_backend->pull_params(m_net.params());
  m_params_stale = false;
}

template <class T>
void Trainer<T>::pull_lambda() const {
  if (!m_backend || !m_lambda_stale) return;
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    const ResidualNode& r = m_residual_node[t];
    if (!m_terms[t].is_pde || r.id < 0) continue;
    m_lambda[t].resize(r.rows, r.cols);
    m_backend->ops().download(m_lambda[t].data(), m_backend->slot(static_cast<int>(t), r.rows * r.cols),
                              sizeof(T) * static_cast<std::size_t>(r.rows * r.cols));
  }
  m_lambda_stale = false;
}

template <class T>
void Trainer<T>::pull_residuals() const {
  if (!m_backend || !m_residual_stale) return;
  for (std::size_t t = 0; t < m_terms.size(); ++t) {  // by the node ids of the recording that last ran
    const ResidualNode& r = m_residual_node[t];
    if (r.id < 0) continue;
    m_residual[t].resize(r.rows, r.cols);
    m_backend->ops().download(m_residual[t].data(), m_backend->value_ptr(r.id),
                              sizeof(T) * static_cast<std::size_t>(r.rows * r.cols));
  }
  m_residual_stale = false;
}

// Scalar block: [2t] loss of term t (unweighted by w_t), [2t + 1] its mean(r^2); then the non-finite counts
// that guard Adam, [2T, 3T + 2): the gradient, the total loss, each term's multipliers (0 unless PDE).
template <class T>
void Trainer<T>::queue_checks(int loss_node) {
  Backend<T>& be = *m_backend;
  const int T2 = 2 * static_cast<int>(m_terms.size());
  be.count_nonfinite(be.size(), be.grads(), T2);
  be.count_nonfinite(1, be.value_ptr(loss_node), T2 + 1);
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    const ResidualNode& r = m_residual_node[t];
    const Index n = m_terms[t].is_pde ? r.rows * r.cols : 0;
    be.count_nonfinite(n, be.slot(static_cast<int>(t), r.rows * r.cols), T2 + 2 + static_cast<int>(t));
  }
}

template <class T>
void Trainer<T>::record_backend_evaluation(bool update_rba, bool first_update, const GradStatsConfig* stats) {
  Backend<T>& be = *m_backend;
  be.use_structure(stats ? 1 : 0);  // a measurement records a different tape: its own buffers
  m_tape.reset();
  be.zero_grads();
  if (stats) {
    GradStatsConfig c = *stats;
    for (const auto& term : m_terms)
      if (term.is_pde) c.batches = static_cast<int>(std::min<Index>(c.batches, term.count));
    be.stats_begin(c);
  }
  double* block = be.scalars(scalar_count());
  Var<T> total;
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    const Term<T>& term = m_terms[t];
    m_tape.set_batched(stats && term.is_pde);
    Var<T> out = m_net.forward(m_tape, m_tape.input(term.points, term.streams));
    m_tape.set_batched(false);
    Var<T> r = term.residual(out, m_tape, term);
    JETPINN_CHECK(r.streams().size() == 1, "term '" << term.name << "': the residual must be a plain tensor");
    const Index P = r.points(), k = r.cols();
    m_residual_node[t] = m_residual_ids[stats ? 1 : 0][t] = ResidualNode{r.id(), P, k};
    JETPINN_CHECK(m_lambda_fresh[t] || !term.is_pde || (m_lambda[t].rows() == P && m_lambda[t].cols() == k),
                  "term '" << term.name << "': " << m_lambda[t].rows() << " x " << m_lambda[t].cols()
                           << " RBA multipliers (from the checkpoint?) for a " << P << " x " << k << " residual");
    T* lambda = be.slot(static_cast<int>(t), P * k);
    if (m_lambda_fresh[t]) {
      be.ops().fill(P * k, T(0), lambda);
      m_lambda[t] = RowMat<T>::Zero(term.is_pde ? P : 0, k);  // the host copy's shape, for the check above
      m_lambda_fresh[t] = 0;
    }
    RbaRule rule{m_opt.rba.eta, m_opt.rba.gamma, m_opt.rba.minmax, m_opt.rba.init_from_residual || m_rba_restart};
    Var<T> lt = m_tape.rba_mse(r, lambda, rule, term.is_pde && update_rba, first_update || m_rba_restart,
                               term.is_pde && m_opt.rba.enabled);
    be.stats_of(m_tape, lt.id(), block + 2 * t);
    if (term.weight != 1.0) lt = lt * term.weight;
    total = t == 0 ? lt : total + lt;
  }
  m_tape.backward(total);
  m_loss_node = total.id();
  queue_checks(m_loss_node);
  m_residual_stale = true;
  if (update_rba) m_lambda_stale = true;
}

template <class T>
double Trainer<T>::backend_objective(GradSnr* snr, bool stats) {
  m_backend->download_scalars(m_scalars.data(), scalar_count());
  m_term_mse.assign(m_terms.size(), 0.0);
  double loss = 0;
  for (std::size_t t = 0; t < m_terms.size(); ++t) {
    m_term_mse[t] = m_scalars[2 * t + 1];
    loss += m_terms[t].weight * m_scalars[2 * t];
  }
  if (stats) *snr = m_backend->stats_finish(m_net.params());
  return loss;
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
StepStats Trainer<T>::backend_step() {
  StepStats s;
  s.step = m_step;
  Backend<T>& be = *m_backend;
  BackendOps<T>& ops = be.ops();
  const int T2 = 2 * static_cast<int>(m_terms.size());
  const bool use_lbfgs = quasi_newton_now();
  if (!use_lbfgs) {
    bool resampled = false;
    if (m_opt.resample_every > 0 && m_step > 0 && m_step % m_opt.resample_every == 0)
      for (std::size_t t = 0; t < m_terms.size(); ++t)
        if (m_terms[t].is_pde) {
          sample(t);
          resampled = true;
        }
    const bool measure_now = m_opt.diagnostics.enabled && diagnostics_due(m_step, m_opt.diagnostics.every);
    const NanInjection& inj = m_opt.inject_nan;
    const bool inject = m_step == inj.step && m_injected < inj.times;
    m_injected += inject ? 1 : 0;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    s.lr = m_opt.schedule.lr(m_step);
    bool fresh = false;
    for (char f : m_lambda_fresh) fresh = fresh || f;
    // A plain step (no measurement, no injected fault, nothing re-drawn, not the first RBA update) does the
    // same device work every time: it is captured once and replayed.
    // Eager steps in between reuse the same buffers (points re-drawn in place); a captured graph goes stale
    // when the backend allocated since (a buffer moved) or the ops' own scratch moved (not replayable).
    const bool plain = !measure_now && !inject && !resampled && !fresh && m_rba_updates > 0 && m_step > 0;
    if (m_graph_ready && (be.allocations() != m_graph_allocations || !ops.replayable())) m_graph_ready = false;
    // Capture only after a plain step ran eagerly with the same shapes (its buffers exist: nothing may be
    // allocated while capturing), i.e. replay a graph or capture one from the second plain step in a row.
    const bool graph = m_opt.graph && m_graph_failure.empty() && ops.supports_capture() && plain &&
                       (m_graph_ready || m_prev_plain);
    m_prev_plain = plain;
    be.set_adam_scalars(m_opt.adam, m_adam_t + 1, s.lr);
    GradSnr snr;
    if (graph && !m_graph_ready) {
      // A capture that fails (something in the step the device cannot record) turns graphs off for this run;
      // nothing captured has run, so the step goes on eagerly below.
      ops.reset_capture();
      try {
        ops.begin_capture();
        record_backend_evaluation(true, false, nullptr);
        be.adam_apply(T2, guard_count());
        ops.end_capture();
        m_graph_ready = true;
        m_graph_allocations = be.allocations();
      } catch (const std::exception& e) {
        m_graph_failure = e.what();
        try {
          ops.reset_capture();
        } catch (...) {
        }
      }
    }
    if (graph && m_graph_ready) {
      be.use_structure(0);  // the captured recording's buffers and node ids
      m_residual_node = m_residual_ids[0];
      ops.launch();
      ++m_graph_launches;
      m_residual_stale = m_lambda_stale = true;
      s.loss = backend_objective(nullptr, false);
    } else {
      if (inject && inj.what == "param") {
        ops.upload(be.params(), &nan, sizeof(T));
        m_params_stale = true;
      }
      record_backend_evaluation(true, m_rba_updates == 0, measure_now ? &m_opt.diagnostics.snr : nullptr);
      if (inject && inj.what == "grad") ops.upload(be.grads() + be.size() - 1, &nan, sizeof(T));
      if (inject && inj.what == "rba")
        for (std::size_t t = 0; t < m_terms.size(); ++t)
          if (m_terms[t].is_pde) ops.upload(be.slot(static_cast<int>(t), 1), &nan, sizeof(T));
      if (inject && inj.what == "loss") ops.upload(const_cast<T*>(be.value_ptr(m_loss_node)), &nan, sizeof(T));
      if (inject && inj.what != "param") queue_checks(m_loss_node);  // count again, after the fault
      be.adam_apply(T2, guard_count());
      s.loss = backend_objective(measure_now ? &snr : nullptr, measure_now);
    }
    ++m_rba_updates;
    s.term_mse = m_term_mse;
    if (inject && inj.what == "loss") s.loss = static_cast<double>(nan);
    // Adam skipped itself on the device when a count was non-zero (the same verdicts as the host's checks).
    const double* c = m_scalars.data() + T2;
    if (!std::isfinite(s.loss) || c[1] != 0) {
      s.bad = "the loss is " + std::to_string(s.loss);
      return s;
    }
    if (c[0] != 0) {
      s.bad = "a parameter gradient is not finite";
      return s;
    }
    for (std::size_t t = 0; t < m_terms.size(); ++t)
      if (c[2 + t] != 0) {
        s.bad = "an RBA multiplier is not finite";
        return s;
      }
    ++m_adam_t;
    m_params_stale = true;
    if (measure_now) s.diag = measure(snr);
  } else {
    if (qn_refresh_due()) refresh_objective();
    if (!m_lbfgs) m_lbfgs = std::make_unique<Lbfgs<T>>(be.size(), m_opt.lbfgs, m_vectors);
    VectorBuffer<T> saved(*m_vectors, be.size());
    m_vectors->copy(be.size(), be.params(), saved.data());
    bool bad = false;
    auto fn = [&](const T* x, T* g) {
      JETPINN_CHECK(x == be.params(), "L-BFGS must evaluate in the backend's parameter buffer");
      record_backend_evaluation(false, false, nullptr);
      const double f = backend_objective(nullptr, false);
      m_vectors->copy(be.size(), be.grads(), g);
      if (!std::isfinite(f) || m_scalars[static_cast<std::size_t>(T2)] != 0 || m_scalars[static_cast<std::size_t>(T2 + 1)] != 0)
        bad = true;
      return f;
    };
    m_params_stale = true;
    LbfgsStatus st = m_lbfgs->iterate(fn, be.params());
    s.lbfgs = true;
    s.evals = st.evals;
    if (const char* why = st.why_stuck()) s.finished = why;
    s.loss = st.f;
    s.term_mse = m_term_mse;
    if (bad || !std::isfinite(st.f)) {
      m_vectors->copy(be.size(), saved.data(), be.params());
      s.bad = "the loss or its gradient became non-finite during an L-BFGS line search";
      return s;
    }
  }
  ++m_step;
  return s;
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

template class Trainer<float>;
template class Trainer<double>;

}  // namespace jetpinn
