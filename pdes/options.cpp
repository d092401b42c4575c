// The option table (see options.h) and common_defaults(), which is built from it.
#include "options.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "check.h"
#include "config.h"
#include "schedule.h"

namespace jetpinn {

Allowed any_value() { return {}; }
Allowed one_of(std::vector<std::string> choices) {
  Allowed a;
  a.choices = std::move(choices);
  return a;
}
Allowed at_least(double lo) { return between(lo, std::numeric_limits<double>::infinity()); }
Allowed above(double lo) { return between(lo, std::numeric_limits<double>::infinity(), true); }
Allowed between(double lo, double hi, bool lo_open, bool hi_open) {
  Allowed a;
  a.lo = lo;
  a.hi = hi;
  a.lo_open = lo_open;
  a.hi_open = hi_open;
  return a;
}

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"problem", "", any_value(), "the problem trained (set from the command line)"},
      {"preset", "", any_value(), "the preset applied over the problem's defaults (\"\": none; --preset)"},
      {"pde", Json::object(), any_value(), "the problem's parameters (see `jetpinn list PROBLEM`)"},

      {"net.depth", 6, at_least(1), "hidden layers"},
      {"net.width", 128, at_least(1), "units per hidden layer"},
      {"net.widths", Json::array(), at_least(1),
       "units of each hidden layer, e.g. [768, 768, 512] (replaces net.depth and net.width; []: those two)"},
      {"net.activation", "tanh", one_of(activation_names()), "activation of the hidden layers"},
      {"net.modified", false, any_value(),
       "modified MLP: two encoders of the input gate every hidden layer (Wang et al.)"},
      {"net.fourier_modes", 0, at_least(0), "Fourier features per periodic input (0: raw inputs; needs a periodic input)"},
      {"net.hard_bc", false, any_value(),
       "impose the boundary condition exactly through the network's output (problems that define one)"},
      {"net.init_from", "", any_value(),
       "initial weights from an .npz (layer0.W out x in, layer0.b, ... as `jetpinn export` and PyTorch's nn.Linear; "
       "\"\": drawn from train.seed)"},

      {"points.collocation", 25600, at_least(1), "residual (collocation) points"},
      {"points.boundary", 400, at_least(0), "boundary-condition points"},
      {"points.initial", 512, at_least(0), "initial-condition points (time-dependent problems)"},
      {"points.resample_every", 0, at_least(0), "steps between fresh draws of the collocation points (0: fixed points)"},

      {"loss.weights", Json::object(), at_least(0),
       "weight of each initial/boundary loss term, by the problem's term names"},
      {"loss.rba.enabled", false, any_value(), "residual-based attention: per-point multipliers on the residual loss"},
      {"loss.rba.eta", 1e-3, at_least(0), "RBA step: lambda <- gamma lambda + eta |r| / max|r|"},
      {"loss.rba.gamma", 0.999, between(0, 1), "RBA memory: the factor on the previous multipliers"},
      {"loss.rba.variant", "max", one_of({"max", "minmax"}),
       "RBA update scaled by max|r| (max) or mapped from [min|r|, max|r|] to [0, 1] (minmax)"},
      {"loss.rba.init", "zero", one_of({"zero", "residual"}),
       "RBA multipliers start at zero, or at |r| / max|r| of the first step (residual)"},

      {"optim.lr", 1e-3, between(0, 10, true, true), "Adam's base learning rate"},
      {"optim.beta1", 0.9, between(0, 1, false, true), "Adam's first-moment decay"},
      {"optim.beta2", 0.999, between(0, 1, false, true), "Adam's second-moment decay"},
      {"optim.eps", 1e-8, above(0), "Adam's denominator offset"},
      {"optim.schedule.kind", "step", one_of(lr_kind_names()),
       "learning rate: constant, lr gamma^floor(step/every) (step) or lr gamma^(step/every) (exp)"},
      {"optim.schedule.gamma", 0.9, above(0), "learning-rate factor per optim.schedule.every steps"},
      {"optim.schedule.every", 5000, at_least(1), "steps per learning-rate decay period"},
      {"optim.schedule.warmup", 0, at_least(0), "steps of linear warm-up to the full rate (0: none)"},
      {"optim.lbfgs_from", -1, at_least(-1), "step at which optim.quasi_newton takes over from Adam (-1: never)"},
      {"optim.switch", "step", one_of({"step", "phase"}),
       "when optim.quasi_newton takes over: at optim.lbfgs_from (step), or after the phase detector confirms total "
       "diffusion, optim.lbfgs_from then the latest step (-1: none; phase; needs diagnostics.enabled)"},
      {"optim.lbfgs_history", 50, at_least(1), "L-BFGS: correction pairs kept"},
      {"optim.quasi_newton", "lbfgs", one_of({"lbfgs", "bfgs", "ssbfgs", "ssbroyden"}),
       "method from optim.lbfgs_from on: L-BFGS, or a dense inverse Hessian (float64, CPU only)"},
      {"optim.qn_refresh.every", 0, at_least(0),
       "quasi-Newton phase: steps between refreshes of its objective (RBA multipliers one update from the current "
       "residuals, points as optim.qn_refresh.points); fixed within each iteration (0: fixed throughout)"},
      {"optim.qn_refresh.points", "keep", one_of({"keep", "redraw"}),
       "at a refresh: keep the PDE points, or redraw them (their RBA multipliers then restart at |r| / max|r|)"},
      {"optim.qn_refresh.memory", "keep", one_of({"keep", "reset"}),
       "at a refresh: the quasi-Newton memory (pairs, H) is kept, or reset to the identity"},
      {"optim.dense_max_params", 20000, at_least(1), "largest network (parameters) a dense quasi-Newton method takes"},

      {"train.iters", 1000, at_least(0), "total steps (--iters)"},
      {"train.seed", 0, at_least(0), "seed of the weights and the points (--seed)"},
      {"train.log_every", 100, at_least(1), "steps between metrics lines and progress updates"},
      {"train.eval_every", 500, at_least(0), "steps between relative L2 errors against the reference (0: at the end)"},
      {"train.checkpoint_every", 1000, at_least(0), "steps between checkpoints (0: at the end only)"},
      {"train.precision", "f64", one_of({"f32", "f64"}), "floating-point precision of the network and tape (--precision)"},
      {"train.threads", 0, at_least(0), "CPU threads (0: all cores; --threads)"},
      {"train.backend", "cpu", one_of({"cpu", "cuda"}), "where the steps run (--backend)"},
      {"train.max_seconds", 0.0, at_least(0), "wall-time budget: the run ends at the first step past it (0: none)"},
      {"train.device", 0, at_least(0), "CUDA device index"},
      {"train.gemm", "fp32", one_of({"fp32", "tf32", "3xtf32"}),
       "CUDA float32 GEMMs: pedantic FP32, TF32 tensor cores, or error-compensated TF32 (3xtf32)"},
      {"train.cuda_graph", true, any_value(), "CUDA: replay plain Adam steps as one captured graph"},
      {"train.on_nan", "stop", one_of({"stop", "rollback"}),
       "a NaN/Inf step: stop at the last checkpoint, or reload it and halve optim.lr (rollback)"},
      {"train.max_rollbacks", 3, at_least(0), "rollbacks before a NaN/Inf stops the run (train.on_nan=rollback)"},

      {"diagnostics.enabled", true, any_value(),
       "measure the training dynamics (gradient SNR, phases, compression); the library's Model: false unless set"},
      {"diagnostics.every", 0, at_least(0), "steps between measurements (0: every 10 below step 300, then every 100)"},
      {"diagnostics.snr_batches", 100, at_least(2), "mini-batches of the gradient SNR"},
      {"diagnostics.per_sample", false, any_value(), "gradient SNR over single points instead of mini-batches"},
      {"diagnostics.include_biases", false, any_value(), "count the biases in the gradient SNR (the paper: weights only)"},
      {"diagnostics.cells", 10, at_least(1), "homogeneity grid: cells x cells over the first two inputs"},
      {"diagnostics.compression_every", 1000, at_least(0),
       "steps between saturation/entropy of the hidden layers on the probe set (0: never)"},
      {"diagnostics.probe_points", 4096, at_least(1), "points of the fixed probe set of the compression measure"},
      {"diagnostics.bins", 30, at_least(1), "bins per mean neuron range of the compression measure"},
      {"diagnostics.snapshots", Json::array({100, 1000, 10000, 100000}), at_least(0),
       "steps at which RBA multipliers and residuals are saved (snapshots/step_N.npz)"},
      {"diagnostics.phase.window", 5, at_least(1), "phases: measurements in the moving mean of log10(SNR)"},
      {"diagnostics.phase.hold", 3, at_least(1), "phases: consecutive measurements that confirm a transition"},
      {"diagnostics.phase.diffusion_below", 1.0, above(0), "phases: fitting -> diffusion when the SNR drops below this"},
      {"diagnostics.phase.total_above", 0.5, above(0), "phases: diffusion -> total diffusion needs the SNR above this"},
      {"diagnostics.phase.total_rise", 10.0, at_least(1),
       "phases: ... and risen by this factor over its lowest in diffusion"},

      // Fault injection for the failure tests (rollbacks replay it).
      {"debug.inject_nan_step", -1, at_least(-1), "tests: the step at which a NaN is injected (-1: never)"},
      {"debug.inject_nan", "param", one_of({"param", "loss", "grad", "rba"}),
       "tests: where the NaN goes (a parameter before the step, the loss, a gradient, an RBA multiplier)"},
      {"debug.inject_nan_times", 1, at_least(0), "tests: how many times the NaN is injected at most"},
  };
  return specs;
}

const OptionSpec* find_option(const std::string& key) {
  for (const OptionSpec& s : option_specs())
    if (s.key == key) return &s;
  return nullptr;
}

const Json& option_value(const Json& cfg, const std::string& key) {
  const Json* v = &cfg;
  for (std::size_t start = 0; start <= key.size();) {
    const std::size_t dot = std::min(key.find('.', start), key.size());
    v = &v->at(key.substr(start, dot - start));
    start = dot + 1;
  }
  return *v;
}

namespace {
std::string show(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

namespace {
// "in [0, 1)", ">= 1", "> 0", or "" for no bound.
std::string range_text(const Allowed& a) {
  const bool low = std::isfinite(a.lo), high = std::isfinite(a.hi);
  if (low && high)
    return std::string("in ") + (a.lo_open ? "(" : "[") + number(a.lo) + ", " + number(a.hi) + (a.hi_open ? ")" : "]");
  if (low) return (a.lo_open ? "> " : ">= ") + number(a.lo);
  if (high) return (a.hi_open ? "< " : "<= ") + number(a.hi);
  return "";
}
std::string with_range(const std::string& kind, const Allowed& a) {
  const std::string r = range_text(a);
  return r.empty() ? kind : kind + " " + r;
}
}  // namespace

std::string OptionSpec::allowed_text() const {
  if (!allowed.choices.empty()) {
    std::string s;
    for (const std::string& c : allowed.choices) s += (s.empty() ? "" : " | ") + c;
    return s;
  }
  if (value.is_boolean()) return "true | false";
  if (value.is_string()) return "text";
  if (value.is_array()) return with_range(value.empty() || value[0].is_number_integer() ? "integers" : "numbers", allowed);
  if (value.is_object()) return with_range("numbers", allowed);
  return with_range(value.is_number_integer() ? "integer" : "number", allowed);
}

void OptionSpec::check(const Json& v) const {
  if (!allowed.choices.empty()) {
    std::string choices;
    for (const std::string& c : allowed.choices) choices += (choices.empty() ? "" : ", ") + c;
    const bool ok = v.is_string() &&
                    std::find(allowed.choices.begin(), allowed.choices.end(), v.get<std::string>()) != allowed.choices.end();
    JETPINN_CHECK(ok, "'" << key << "' must be one of " << choices << "; got " << show(v));
    return;
  }
  auto in_range = [&](double x) {
    return (allowed.lo_open ? x > allowed.lo : x >= allowed.lo) && (allowed.hi_open ? x < allowed.hi : x <= allowed.hi);
  };
  if (v.is_number()) {
    JETPINN_CHECK(in_range(v.get<double>()), "'" << key << "' must be " << range_text(allowed) << ", got " << show(v));
  } else if (v.is_array()) {  // a list of steps: integers in the range
    for (const Json& e : v)
      JETPINN_CHECK(e.is_number_integer() && in_range(e.get<double>()),
                    "'" << key << "' must list " << allowed_text() << ", got " << show(e));
  } else if (v.is_object() && !range_text(allowed).empty()) {  // loss.weights: a number per term (pde: the problem's)
    for (auto it = v.begin(); it != v.end(); ++it)
      JETPINN_CHECK(it.value().is_number() && in_range(it.value().get<double>()),
                    "'" << key << "." << it.key() << "' must be " << with_range("a number", allowed) << ", got "
                        << show(it.value()));
  }
}

Json common_defaults() {
  Json cfg = Json::object();
  for (const OptionSpec& s : option_specs()) {
    std::string pointer = "/" + s.key;
    for (char& c : pointer)
      if (c == '.') c = '/';
    cfg[Json::json_pointer(pointer)] = s.value;
  }
  return cfg;
}

}  // namespace jetpinn
