// What `jetpinn train` records of the training dynamics: the diagnostics fields of metrics.jsonl (snr,
// snr_layer, phi_grad, snr_adam, phi_rba, phi_res, phase; saturation and entropy per hidden layer on a fixed
// probe set every diagnostics.compression_every steps), snapshots of the RBA multipliers and residuals over the
// collocation points at chosen steps (snapshots/step_<n>.npz, for `jetpinn report`), the prediction and
// reference on the evaluation grid at the end (fields.npz), and the phase summary.
#pragma once
#include <string>

#include "config.h"
#include "train.h"

namespace jetpinn {

template <class T>
class RunDiagnostics {
 public:
  RunDiagnostics(const Json& cfg, std::string dir, const Trainer<T>& trainer, const Mlp<T>& net);
  // Adds the diagnostics of the step that made `done` steps to the metrics line; true when it added anything
  // (the line must then be written even off the logging cadence).
  bool record(long done, const StepStats& s, Json& line);
  // Writes snapshots/step_<done>.npz when `done` is a snapshot step or the last one.
  void snapshot(long done, bool last) const;
  // fields.npz: the reference grid's axes, the reference and the prediction of the metric field.
  void write_fields(const Reference& ref, const RowMat<double>& prediction) const;
  void summarize(Json& summary) const;
  std::string progress() const;  // "  snr 3.1e-02 diffusion" (empty before the first measurement)

 private:
  const Json m_cfg;
  const std::string m_dir;
  const Trainer<T>& m_trainer;
  const Mlp<T>& m_net;
  RowMat<T> m_probe;
  double m_last_snr = -1;
};

}  // namespace jetpinn
