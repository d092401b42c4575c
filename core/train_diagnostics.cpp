// The training-dynamics measurements of a step (see train.h): the batch-gradient statistics, Adam's SNR,
// the homogeneity of the multipliers and residuals, and the phase detector.
#include "train.h"

#include "homogeneity.h"

namespace jetpinn {

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

// The class is instantiated in train.cpp; these are the members defined here, for float and double.
#define JETPINN_TRAINER_DIAGNOSTICS_MEMBERS(T) \
  template GradSnr Trainer<T>::gradient_stats(const GradStatsConfig&); \
  template StepDiagnostics Trainer<T>::measure(const GradSnr&);
JETPINN_TRAINER_DIAGNOSTICS_MEMBERS(float)
JETPINN_TRAINER_DIAGNOSTICS_MEMBERS(double)
#undef JETPINN_TRAINER_DIAGNOSTICS_MEMBERS

}  // namespace jetpinn
