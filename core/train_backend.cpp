// The training step on a Backend (see train.h and backend.h): moving the state to and from the backend, the
// recorded evaluation with its scalar block of checks, and the step with the capture policy.
#include "train.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace jetpinn {

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

// The class is instantiated in train.cpp; these are the members defined here, for float and double.
#define JETPINN_TRAINER_BACKEND_MEMBERS(T) \
  template void Trainer<T>::set_backend(std::shared_ptr<Backend<T>>); \
  template void Trainer<T>::push_state(); \
  template void Trainer<T>::params_changed(); \
  template void Trainer<T>::sync_host() const; \
  template void Trainer<T>::pull_lambda() const; \
  template void Trainer<T>::pull_residuals() const; \
  template void Trainer<T>::queue_checks(int); \
  template void Trainer<T>::record_backend_evaluation(bool, bool, const GradStatsConfig*); \
  template double Trainer<T>::backend_objective(GradSnr*, bool); \
  template StepStats Trainer<T>::backend_step();
JETPINN_TRAINER_BACKEND_MEMBERS(float)
JETPINN_TRAINER_BACKEND_MEMBERS(double)
#undef JETPINN_TRAINER_BACKEND_MEMBERS

}  // namespace jetpinn
