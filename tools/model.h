// Model<T>: a problem, its network and its trainer in one object; what a program embedding jetpinn uses.
//   Model<> m(spec.info(), {{"net", {{"width", 32}}}, {"train", {{"iters", 2000}}}});
//   m.train([](const LoggedStep& s) { ...; return true; });   // false stops early
//   RowMat<double> v = m.evaluate(points, {"u", "u_x", "u_lap"});
//   m.save("run.ckpt");  ...  Model<>::open(spec.info(), "run.ckpt");
//   m.save_parameters("w.npz");  ...  m.load_parameters("w.npz");   // PyTorch's nn.Linear names and layout
// The configuration is a JSON patch over the defaults (keys as in `jetpinn list`), checked like the driver's
// --config: net.* builds the network, optim.* picks Adam and the step at which L-BFGS takes over, loss.rba.*,
// points.*, train.* (iters, log_every, eval_every, seed, max_seconds, threads), diagnostics.* (SNR cadence,
// phases). Two defaults differ from the driver's: diagnostics.enabled is false unless the configuration sets it
// (a plain step() loop takes no measurement steps), and train.precision follows T.
// train.threads > 0 sets OpenMP's thread count for the duration of each call that computes (train, step,
// evaluate, loss_and_gradient, relative_l2) and restores the caller's afterwards; 0 leaves it as it is.
// T is double (default) or float, matching train.precision. The `jetpinn train` driver runs on this class.
#pragma once
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "npy.h"
#include "problem.h"
#include "train.h"

namespace jetpinn {

// What a measurement step adds (diagnostics.every, or the paper's cadence: every 10 steps below 300, then 100).
struct Diagnostics {
  double snr = 0, phi = 0;               // batch-gradient SNR ||mean g|| / ||std g|| and phi = SNR / sqrt(1 + SNR^2)
  std::vector<std::string> layers;       // parameter entries counted
  std::vector<double> layer_snr;         // SNR per entry of `layers`
  double snr_adam = 0;                   // |m_hat| / |sqrt(v_hat) + eps| after the update
  double phi_rba = 0, phi_res = 0;       // homogeneity of the RBA multipliers and of |residual|
  std::string phase;                     // "fitting", "diffusion" or "total_diffusion"
  bool transition = false;               // this measurement confirmed a phase change
};

// One logged step, as the training callback sees it.
struct LoggedStep {
  long step = 0;                         // steps done
  double loss = 0;                       // objective before the update
  std::vector<std::string> terms;        // loss term names
  std::vector<double> term_mse;          // mean(r^2) per term
  double lr = 0;                         // Adam's rate (0 on L-BFGS steps)
  bool lbfgs = false;                    // a quasi-Newton step (L-BFGS or a dense method)
  long evals = 0;                        // its objective evaluations (line search; 0 on Adam steps)
  double seconds = 0;                    // since train() began
  double rel_l2 = std::numeric_limits<double>::quiet_NaN();  // on train.eval_every steps, with a reference
  std::optional<Diagnostics> diagnostics;
};
using StepCallback = std::function<bool(const LoggedStep&)>;  // return false to stop training

// The objective at the current parameters and its gradient (Model::loss_and_gradient).
struct LossAndGradient {
  double loss = 0;                // sum of weighted term losses, RBA multipliers as they stand (not updated)
  std::vector<std::string> terms; // loss term names
  std::vector<double> term_mse;   // mean(r^2) per term, unweighted, without RBA
  NamedArrays gradient;           // d loss / d parameter, named and shaped as Model::parameters()
};

struct TrainResult {
  long steps = 0;
  double seconds = 0, loss = 0;
  double rel_l2 = std::numeric_limits<double>::quiet_NaN();  // at the end, when the problem has a reference
  bool stopped_by_callback = false;
  std::string finished;  // non-empty when the run ended early because the quasi-Newton method could not move (why)
};

bool cuda_backend_built();                     // whether this library was built with the CUDA backend
void check_backend(const std::string& name);   // throws unless `name` can train here ("cpu" always can)
// The backend train.backend = "cuda" names (device train.device, float32 GEMMs train.gemm); throws one line
// naming why where it cannot run (no CUDA in this build, no device).
template <class T>
std::shared_ptr<Backend<T>> make_backend(const Json& train);

template <class T = double>
class Model {
 public:
  // `config` patches the problem's defaults (after `preset`, if named); a wrong key or value throws naming it.
  explicit Model(ProblemInfo problem, const Json& config = Json::object(), const std::string& preset = "");
  // A registered problem (the built-in ones, or register_problem) by name.
  explicit Model(const std::string& problem, const Json& config = Json::object(), const std::string& preset = "");
  // A model saved with save(), for the same problem; the checkpoint carries its configuration.
  static Model open(ProblemInfo problem, const std::string& path);
  // A model of `config` restored from `c` (a run folder's config.json and checkpoint); net.init_from is not read,
  // the weights are the checkpoint's.
  static Model open(ProblemInfo problem, const Json& config, const Checkpoint& c);

  // Steps up to train.iters (or until train.max_seconds); `callback` sees every train.log_every-th step, every
  // evaluation step and every diagnostics measurement. A NaN/Inf step throws (nothing is updated).
  TrainResult train(const StepCallback& callback = {});
  // One optimizer step (Adam, or the quasi-Newton method from optim.lbfgs_from on), RBA multipliers updated and
  // the PDE term's points redrawn at their cadence; returns the loss before the update and the per-term MSEs
  // (diagnostics on measurement steps). Does not look at train.iters or train.max_seconds. A NaN/Inf throws.
  LoggedStep step();
  // The loss and its gradient at the current parameters, nothing updated (no step counted, multipliers kept):
  // for an optimizer of your own (change the weights with set_parameters) or to check a step.
  LossAndGradient loss_and_gradient();
  void set_lr(double lr);  // a new base learning rate for Adam's schedule
  long steps_done() const { return m_trainer->steps_done(); }

  // Quantities at points (rows x inputs, in the problem's input order), one column each: an output "u", an
  // output with a derivative "u_x", "u_xx", "u_txx", "u_lap", "u_lap_x", or a problem's derived quantity.
  // A call with the quantities and point count of the previous one reuses its tape and buffers (one evaluate at a
  // time per Model).
  RowMat<double> evaluate(const RowMat<double>& points, const std::vector<std::string>& quantities) const;
  bool has_reference() const { return static_cast<bool>(m_info.reference); }
  const Reference& reference() const;  // computed once (throws when the problem has none)
  // ||pred - ref|| / ||ref|| on the reference grid; `prediction` receives the prediction.
  double relative_l2(RowMat<double>* prediction = nullptr) const;

  // The network's parameters by name, in PyTorch's nn.Linear layout: "layer<l>.W" (out x in) and "layer<l>.b"
  // (out) for l = 0..L, L the hidden layers (net.widths or net.depth; l = L is the output layer); a modified MLP
  // adds "encoder_u.W/b", "encoder_v.W/b".
  NamedArrays parameters() const;
  // Replaces every parameter; each name of parameters() exactly once with its shape. A missing, extra or
  // mis-shaped tensor throws naming it (and both shapes) with nothing changed. The optimizer state is kept.
  void set_parameters(const NamedArrays& params);
  void save_parameters(const std::string& npz) const;  // parameters() as an .npz (np.load / torch)
  void load_parameters(const std::string& npz);        // set_parameters() from an .npz (net.init_from does this)

  void save(const std::string& path) const;  // checkpoint() and the configuration (for open())
  void load(const std::string& path);        // restore a save() of this problem and precision
  Checkpoint checkpoint() const;             // parameters, optimizer state, points, RNG, step
  void restore(const Checkpoint& c);

  const ProblemInfo& info() const { return m_info; }
  const Json& config() const { return m_cfg; }
  // The parts, for code that needs more than the above (the driver's diagnostics files use them).
  Mlp<T>& net() { return *m_net; }
  const Mlp<T>& net() const { return *m_net; }
  Problem<T>& problem() { return *m_problem; }
  Trainer<T>& trainer() { return *m_trainer; }

 private:
  ProblemInfo m_info;
  Json m_cfg;
  std::unique_ptr<Problem<T>> m_problem;
  std::unique_ptr<Mlp<T>> m_net;
  std::unique_ptr<Trainer<T>> m_trainer;
  mutable std::shared_ptr<const Reference> m_reference;
  mutable std::unique_ptr<QuantityEvaluator<T>> m_evaluator;  // evaluate()'s tape and buffers, kept between calls
  LoggedStep logged(const StepStats& s, double seconds) const;
};

}  // namespace jetpinn
