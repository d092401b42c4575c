// Diagnostics of a training run on disk (see run_diagnostics.h).
#include "run_diagnostics.h"

#include <cstdio>
#include <filesystem>

#include "compression.h"
#include "npy.h"

namespace jetpinn {

namespace {
template <class M>
NpyArray to_npy(const M& m) {
  NpyArray a;
  a.shape = {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) a.data.push_back(static_cast<double>(m(i, j)));
  return a;
}
template <class T>
std::size_t pde_term(const Trainer<T>& tr) {
  for (std::size_t t = 0; t < tr.terms().size(); ++t)
    if (tr.terms()[t].is_pde) return t;
  return tr.terms().size();
}
}  // namespace

template <class T>
RunDiagnostics<T>::RunDiagnostics(const Json& cfg, std::string dir, const Trainer<T>& trainer, const Mlp<T>& net)
    : m_cfg(cfg.at("diagnostics")), m_dir(std::move(dir)), m_trainer(trainer), m_net(net) {
  const std::size_t t = pde_term(trainer);
  if (t < trainer.terms().size()) {
    const RowMat<T>& p = trainer.terms()[t].points;  // the first probe_points collocation points, kept fixed
    m_probe = p.topRows(std::min<Index>(p.rows(), m_cfg.at("probe_points").get<Index>()));
  }
}

template <class T>
bool RunDiagnostics<T>::record(long done, const StepStats& s, Json& line) {
  bool added = false;
  if (s.diag) {
    const StepDiagnostics& d = *s.diag;
    line["snr"] = d.grad.snr;
    line["phi_grad"] = d.grad.phi;
    line["snr_layer"] = d.grad.layer_snr;
    line["snr_adam"] = d.snr_adam;
    line["phi_rba"] = d.phi_rba;
    line["phi_res"] = d.phi_res;
    line["phase"] = phase_name(d.phase);
    if (d.transition) {  // confirmed now, dated back to where the held run began (core/phases.h)
      line["transition"] = phase_name(d.phase);
      const PhaseDetector& p = m_trainer.phases();
      line["transition_step"] = d.phase == Phase::TotalDiffusion ? p.total_step() : p.diffusion_step();
    }
    m_last_snr = d.grad.snr;
    added = true;
  }
  const long every = m_cfg.at("compression_every");
  if (every > 0 && m_probe.rows() > 0 && (done == 1 || done % every == 0)) {
    std::vector<double> sat, ent;
    m_trainer.sync_host();  // the network's parameters may live in a backend
    for (const LayerCompression& c : activation_compression(m_net, m_probe, m_cfg.at("bins").get<int>())) {
      sat.push_back(c.saturation);
      ent.push_back(c.entropy);
    }
    line["saturation"] = sat;
    line["entropy"] = ent;
    added = true;
  }
  return added;
}

template <class T>
void RunDiagnostics<T>::snapshot(long done, bool last) const {
  bool due = last;
  for (const Json& k : m_cfg.at("snapshots")) due |= k.get<long>() == done;
  const std::size_t t = pde_term(m_trainer);
  if (!due || t >= m_trainer.terms().size() || m_trainer.residual(t).size() == 0) return;
  std::filesystem::create_directories(m_dir + "/snapshots");
  char name[64];
  std::snprintf(name, sizeof name, "/snapshots/step_%09ld.npz", done);
  NpyArray step;
  step.data = {static_cast<double>(done)};
  write_npz(m_dir + name, {{"step", step},
                           {"points", to_npy(m_trainer.terms()[t].points)},
                           {"lambda", to_npy(m_trainer.lambda(t))},
                           {"residual", to_npy(m_trainer.residual(t))}});
}

template <class T>
void RunDiagnostics<T>::write_fields(const Reference& ref, const RowMat<double>& prediction) const {
  if (ref.axes.size() != 2) return;  // maps need a two-axis grid
  const std::size_t n0 = ref.axes[0].size(), n1 = ref.axes[1].size();
  NpyArray a0{{n0}, ref.axes[0]}, a1{{n1}, ref.axes[1]}, truth{{n0, n1}, ref.field(ref.metric)}, pred{{n0, n1}, {}};
  pred.data.assign(prediction.data(), prediction.data() + prediction.size());
  write_npz(m_dir + "/fields.npz", {{"axis0", a0}, {"axis1", a1}, {"reference", truth}, {"prediction", pred}});
}

template <class T>
void RunDiagnostics<T>::summarize(Json& summary) const {
  const PhaseDetector& p = m_trainer.phases();
  summary["phase"] = phase_name(p.phase());
  summary["diffusion_step"] = p.diffusion_step();
  summary["total_diffusion_step"] = p.total_step();
  summary["snr_last"] = m_last_snr;
}

template <class T>
std::string RunDiagnostics<T>::progress() const {
  if (m_last_snr < 0) return "";
  char buf[96];
  std::snprintf(buf, sizeof buf, "  snr %.2e %s", m_last_snr, phase_name(m_trainer.phases().phase()));
  return buf;
}

template class RunDiagnostics<float>;
template class RunDiagnostics<double>;

}  // namespace jetpinn
