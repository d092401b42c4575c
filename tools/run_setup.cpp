// Run setup from a configuration (see run_setup.h).
#include "run_setup.h"

#include <cmath>

namespace jetpinn {

MlpConfig network_config(const ProblemInfo& info, const Json& cfg) {
  const Json& n = cfg.at("net");
  MlpConfig c;
  c.inputs = static_cast<int>(info.inputs.size());
  c.outputs = static_cast<int>(info.outputs.size());
  c.depth = n.at("depth");
  c.width = n.at("width");
  c.widths = n.at("widths").get<std::vector<int>>();  // integers >= 1 (validate_config)
  c.activation = parse_activation(n.at("activation"));
  c.modified = n.at("modified");
  const int modes = n.at("fourier_modes");
  if (modes > 0) {
    JETPINN_CHECK(!info.periodic.empty(), "'net.fourier_modes' needs a periodic input; problem '" << info.name
                                                                                                   << "' has none");
    for (int i : info.periodic)
      c.fourier.push_back({i, 0.5 * (info.domain.hi[static_cast<std::size_t>(i)] - info.domain.lo[static_cast<std::size_t>(i)]), modes});
  }
  c.validate();
  return c;
}

TrainOptions train_options(const Json& cfg) {
  TrainOptions o;
  const Json& op = cfg.at("optim");
  o.adam.lr = op.at("lr");
  o.adam.beta1 = op.at("beta1");
  o.adam.beta2 = op.at("beta2");
  o.adam.eps = op.at("eps");
  o.adam.validate();
  const Json& s = op.at("schedule");
  o.schedule.kind = parse_lr_kind(s.at("kind"));
  o.schedule.lr0 = op.at("lr");
  o.schedule.gamma = s.at("gamma");
  o.schedule.every = s.at("every");
  o.schedule.warmup = s.at("warmup");
  o.schedule.validate();
  o.lbfgs_from = op.at("lbfgs_from");
  o.switch_on_phase = op.at("switch") == "phase";
  o.lbfgs.history = op.at("lbfgs_history");
  o.lbfgs.validate();
  o.quasi_newton = op.at("quasi_newton");
  o.dense_max_params = op.at("dense_max_params");
  const Json& qr = op.at("qn_refresh");
  o.qn_refresh.every = qr.at("every");
  o.qn_refresh.redraw = qr.at("points") == "redraw";
  o.qn_refresh.reset_memory = qr.at("memory") == "reset";
  const Json& r = cfg.at("loss").at("rba");
  o.rba.enabled = r.at("enabled");
  o.rba.eta = r.at("eta");
  o.rba.gamma = r.at("gamma");
  o.rba.minmax = r.at("variant") == "minmax";
  o.rba.init_from_residual = r.at("init") == "residual";
  o.resample_every = cfg.at("points").at("resample_every");
  o.graph = cfg.at("train").at("cuda_graph");
  const Json& dbg = cfg.at("debug");
  o.inject_nan = {dbg.at("inject_nan").get<std::string>(), dbg.at("inject_nan_step").get<long>(),
                  dbg.at("inject_nan_times").get<long>()};
  const Json& d = cfg.at("diagnostics");
  o.diagnostics.enabled = d.at("enabled");
  o.diagnostics.every = d.at("every");
  o.diagnostics.snr.batches = d.at("snr_batches");
  o.diagnostics.snr.per_sample = d.at("per_sample");
  o.diagnostics.snr.include_biases = d.at("include_biases");
  o.diagnostics.cells = d.at("cells");
  const Json& ph = d.at("phase");
  o.diagnostics.phases.window = ph.at("window");
  o.diagnostics.phases.hold = ph.at("hold");
  o.diagnostics.phases.diffusion_below = ph.at("diffusion_below");
  o.diagnostics.phases.total_above = ph.at("total_above");
  o.diagnostics.phases.total_rise = ph.at("total_rise");
  return o;
}

void check_dense_quasi_newton(const ProblemInfo& info, const Json& cfg) {
  const TrainOptions o = train_options(cfg);
  if (o.quasi_newton == "lbfgs") return;
  DenseQnConfig c;
  c.method = parse_dense_method(o.quasi_newton);
  c.max_params = o.dense_max_params;
  DenseQuasiNewton::check_size(Mlp<double>(network_config(info, cfg)).params().size(), c);
}

template <>
std::unique_ptr<Problem<float>> make_problem<float>(const ProblemInfo& info, const Json& cfg) {
  return info.make_f32(cfg);
}
template <>
std::unique_ptr<Problem<double>> make_problem<double>(const ProblemInfo& info, const Json& cfg) {
  return info.make_f64(cfg);
}

template <class T>
double relative_l2(const ProblemInfo& info, const Problem<T>& problem, const Mlp<T>& net, const Reference& ref,
                   RowMat<double>* prediction) {
  RowMat<double> pred = evaluate_quantities(info, problem, net, ref.points, {ref.metric});
  const std::vector<double>& truth = ref.field(ref.metric);
  double num = 0, den = 0;
  for (Index i = 0; i < pred.rows(); ++i) {
    const double d = pred(i, 0) - truth[static_cast<std::size_t>(i)];
    num += d * d;
    den += truth[static_cast<std::size_t>(i)] * truth[static_cast<std::size_t>(i)];
  }
  if (prediction) *prediction = std::move(pred);
  return std::sqrt(num / den);
}

template double relative_l2(const ProblemInfo&, const Problem<float>&, const Mlp<float>&, const Reference&, RowMat<double>*);
template double relative_l2(const ProblemInfo&, const Problem<double>&, const Mlp<double>&, const Reference&, RowMat<double>*);

}  // namespace jetpinn
