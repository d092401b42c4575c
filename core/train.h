// Trainer<T>: the training step. Sample each term's points once (or every k steps for the PDE term); per step:
// jets forward on every term, residuals, RBA multipliers updated from the residuals (always tracked; applied
// only when RBA is on), loss = sum_t w_t mean(r_t^2) with the PDE term mean((lambda r)^2) under RBA, reverse
// sweep, then an Adam step at the scheduled rate, or (from step lbfgs_from on, or from the confirmation of total
// diffusion with switch_on_phase) one quasi-Newton iteration (L-BFGS, or on the host in float64 a dense method of
// dense_qn.h) with the multipliers frozen so the objective is fixed. A non-finite loss or gradient stops before
// any update.
// Diagnostics (diagnostics.h) are measured at their cadence in Adam steps: the batch-gradient SNR comes out of
// the same reverse sweep (the collocation term's affine layers are batched, see grad_stats.h), then the Adam SNR,
// the homogeneity of the RBA multipliers and of |r|, and the phase detector's verdict.
// save()/load() carry everything a bit-identical resume needs.
// With a Backend (set_backend), the same step runs in the backend's memory (a CUDA device): parameters, Adam's
// moments, the RBA multipliers and L-BFGS's vectors live there; each residual's RBA update and loss is one fused
// op (Tape::rba_mse); a step reads back only its scalars (losses, non-finite counts). Once warm, plain Adam
// steps can be replayed as one captured graph (TrainOptions::graph): a replay does not run the residual code, so
// host data a residual builds (constants) must change only when the points are re-drawn; a residual that reads
// values back (Var::value()) cannot be captured, and the run goes on eagerly (graph_failure() says why).
// Host copies (parameters, multipliers, residuals) are refreshed on demand: sync_host(), lambda(), residual(),
// save().
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adam.h"
#include "backend.h"
#include "checkpoint.h"
#include "dense_qn.h"
#include "grad_stats.h"
#include "lbfgs.h"
#include "mlp.h"
#include "phases.h"
#include "rba.h"
#include "schedule.h"
#include "terms.h"

namespace jetpinn {

struct DiagnosticsOptions {
  bool enabled = true;
  long every = 0;  // measure every k steps; 0: the paper's cadence (every 10 below step 300, then every 100)
  GradStatsConfig snr;  // batches is capped at the collocation points
  PhaseRule phases;
  std::vector<double> domain_lo, domain_hi;  // for homogeneity; empty: the collocation points' bounding box
  int cells = 10;                            // homogeneity grid: cells x cells over the first two inputs
};

// What a measurement step reports.
struct StepDiagnostics {
  GradSnr grad;          // snr, phi, per-layer SNR
  double snr_adam = 0;   // |m_hat| / |sqrt(v_hat) + eps| after this step's update
  double phi_rba = 0;    // homogeneity of the RBA multipliers (tracked even when RBA is off)
  double phi_res = 0;    // homogeneity of |r|
  Phase phase = Phase::Fitting;
  bool transition = false;  // this measurement confirmed a phase change
};

// Fault injection for the failure tests (config debug.*): at step `step`, a NaN goes into a parameter before
// the step ("param"), or into the loss, a gradient or an RBA multiplier after the evaluation; `times` caps how
// often (a rollback replays the step).
struct NanInjection {
  std::string what = "param";
  long step = -1;  // -1: never
  long times = 1;
};

struct TrainOptions {
  AdamConfig adam;
  LrSchedule schedule;
  RbaConfig rba;
  long lbfgs_from = -1;  // step at which the quasi-Newton method (quasi_newton) takes over; -1: never
  // Also take over at the first step after the phase detector confirms total diffusion (lbfgs_from, when >= 0,
  // stays the latest step of the switch). Needs diagnostics enabled: the detector reads the measurements.
  bool switch_on_phase = false;
  LbfgsConfig lbfgs;     // L-BFGS; its tolerances and line-search settings serve the dense methods too
  // "lbfgs", or a dense method of dense_qn.h ("bfgs", "ssbfgs", "ssbroyden": float64 and host only, refused
  // otherwise and above dense_max_params parameters).
  std::string quasi_newton = "lbfgs";
  Index dense_max_params = 20000;
  long resample_every = 0;  // redraw the PDE term's points every k steps; 0: fixed set
  // The quasi-Newton phase keeps its objective fixed within an iteration (a line search needs one function).
  // Every `every` steps (counted from step 0; 0: never) after its first iteration it starts from a refreshed one:
  // the PDE points redrawn when `redraw` (their multipliers restarting at |r| / max|r|), the RBA multipliers one
  // update from the residuals at the current parameters; the method then drops its cached f and g, and keeps its
  // memory (pairs, H) or, with `reset_memory`, restarts from the identity.
  struct QuasiNewtonRefresh {
    long every = 0;
    bool redraw = false;
    bool reset_memory = false;
  } qn_refresh;
  DiagnosticsOptions diagnostics;
  NanInjection inject_nan;
  bool graph = true;  // with a backend: replay plain Adam steps as one captured graph once shapes are fixed
};

struct StepStats {
  long step = 0;                  // the step just taken (0-based)
  double loss = 0;                // the objective before the update
  std::vector<double> term_mse;   // mean(r^2) per term, unweighted, without RBA
  double lr = 0;                  // Adam's rate this step (0 for L-BFGS)
  bool lbfgs = false;             // a quasi-Newton step (L-BFGS or the dense method)
  int evals = 1;                  // loss evaluations this step
  std::string finished;           // non-empty (why) when the quasi-Newton method left x unchanged and every later
                                  // step would repeat this one, so a run ends here
  std::string bad;                // non-empty when the step found a NaN/Inf (nothing was updated)
  std::optional<StepDiagnostics> diag;  // on measurement steps
};

template <class T>
class Trainer {
 public:
  Trainer(Mlp<T>& net, std::vector<Term<T>> terms, TrainOptions options, std::uint64_t seed);
  StepStats step();
  long steps_done() const { return m_step; }
  const std::vector<Term<T>>& terms() const { return m_terms; }
  const RowMat<T>& lambda(std::size_t term) const {
    pull_lambda();
    return m_lambda[term];
  }
  const Adam<T>& adam() const { return m_adam; }
  const PhaseDetector& phases() const { return m_phases; }
  // The last evaluation's residual of a term (P x k), before RBA weighting.
  const RowMat<T>& residual(std::size_t term) const {
    pull_residuals();
    return m_residual[term];
  }
  // Gradient statistics at the current parameters (nothing updated; the gradient is left in the store).
  GradSnr gradient_stats(const GradStatsConfig& config);
  const TrainOptions& options() const { return m_opt; }
  // A new base learning rate for the schedule (a rollback after a NaN halves it).
  void set_lr(double lr) { m_opt.schedule.lr0 = m_opt.adam.lr = lr; }
  // Loss and parameter gradients at the current parameters (multipliers not updated).
  double loss_and_gradient();
  // mean(r^2) per term at the last evaluation (a step or loss_and_gradient), unweighted, without RBA.
  const std::vector<double>& term_mse() const { return m_term_mse; }
  // The network's parameters were written on the host: with a backend, copy them there (optimizer state kept).
  void params_changed();

  void save(Checkpoint& c) const;
  void load(const Checkpoint& c);

  // Run from now on in `backend`'s memory (parameters, moments, multipliers and L-BFGS state move there).
  void set_backend(std::shared_ptr<Backend<T>> backend);
  Backend<T>* backend() const { return m_backend.get(); }
  // Copy the backend's parameters into the network (nothing to do on the host).
  void sync_host() const;
  long graph_launches() const { return m_graph_launches; }
  // Why graph replay was turned off for this run (a capture failed), or empty.
  const std::string& graph_failure() const { return m_graph_failure; }

 private:
  Mlp<T>& m_net;
  std::vector<Term<T>> m_terms;
  TrainOptions m_opt;
  Rng m_rng;
  Tape<T> m_tape;
  Adam<T> m_adam;
  mutable std::vector<RowMat<T>> m_lambda;  // per term (empty unless is_pde); with a backend, a host copy
  mutable std::vector<RowMat<T>> m_residual;
  GradStats<T> m_grad_stats;
  PhaseDetector m_phases;
  long m_step = 0, m_rba_updates = 0, m_injected = 0;
  std::vector<double> m_term_mse;
  double evaluate(bool update_rba, const GradStatsConfig* stats = nullptr, GradSnr* snr = nullptr);
  // The backend path.
  std::shared_ptr<Backend<T>> m_backend;
  std::shared_ptr<VectorOps<T>> m_vectors;
  // After the backend and its vector ops: L-BFGS's vectors live in the backend's memory, so they must be released
  // while it still exists (members are destroyed in reverse order).
  std::unique_ptr<Lbfgs<T>> m_lbfgs;
  std::unique_ptr<DenseQuasiNewton> m_dense;  // the dense method's state (host, float64), once it has started
  bool dense() const { return m_opt.quasi_newton != "lbfgs"; }
  // Whether this step is a quasi-Newton one: from lbfgs_from on, or once total diffusion is confirmed
  // (switch_on_phase). A pure function of the step and the detector's measurements, so a resume decides alike.
  bool quasi_newton_now() const;
  DenseQnConfig dense_config() const;
  // TrainOptions::qn_refresh: whether this quasi-Newton step starts from a refreshed objective, and the refresh.
  bool qn_refresh_due() const;
  void refresh_objective();
  bool m_rba_restart = false;  // during a refresh that redrew the points: the multipliers start at |r| / max|r|
  mutable bool m_params_stale = false, m_lambda_stale = false, m_residual_stale = false;
  std::vector<char> m_lambda_fresh;   // per term: the multipliers start from zero at the next evaluation
  struct ResidualNode {
    int id = -1;
    Index rows = 0, cols = 0;
  };
  std::vector<ResidualNode> m_residual_node;  // per term: the residual's node in the last evaluation
  std::vector<ResidualNode> m_residual_ids[2];  // the same per recording structure (0: plain, 1: measurement)
  std::vector<double> m_scalars;      // host copy of the step's scalar block
  long m_adam_t = 0;                  // Adam's step count with a backend (the moments live there)
  bool m_graph_ready = false, m_prev_plain = false;
  long m_graph_allocations = 0;
  long m_graph_launches = 0;
  std::string m_graph_failure;
  void pull_lambda() const;
  void pull_residuals() const;
  void push_state();  // host state (parameters, moments, multipliers) -> backend
  // Queues one evaluation on the backend (no download); the scalar block gets each term's (loss, mse).
  void record_backend_evaluation(bool update_rba, bool first_update, const GradStatsConfig* stats);
  double backend_objective(GradSnr* snr, bool stats);  // after the download: the loss; term MSEs set
  StepStats backend_step();
  int m_loss_node = -1;
  void queue_checks(int loss_node);  // the non-finite counts of the scalar block
  int guard_count() const { return static_cast<int>(m_terms.size()) + 2; }
  int scalar_count() const { return 3 * static_cast<int>(m_terms.size()) + 2; }
  StepDiagnostics measure(const GradSnr& snr);
  void sample(std::size_t t);
};

}  // namespace jetpinn
