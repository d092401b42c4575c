// Configuration layers and checks (see config.h).
#include "config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "schedule.h"

namespace jetpinn {

Json common_defaults() {
  return Json{
      {"problem", ""},
      {"preset", ""},
      {"pde", Json::object()},
      {"net", {{"depth", 6}, {"width", 128}, {"activation", "tanh"}, {"modified", false}, {"fourier_modes", 0},
               {"hard_bc", false}}},
      {"points", {{"collocation", 25600}, {"boundary", 400}, {"initial", 512}, {"resample_every", 0}}},
      {"loss",
       {{"weights", Json::object()},
        {"rba", {{"enabled", false}, {"eta", 1e-3}, {"gamma", 0.999}, {"variant", "max"}, {"init", "zero"}}}}},
      {"optim",
       {{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8},
        {"schedule", {{"kind", "step"}, {"gamma", 0.9}, {"every", 5000}, {"warmup", 0}}},
        // lbfgs_from: the step at which the quasi-Newton method takes over (-1: never), whichever quasi_newton
        // names: lbfgs, or a dense inverse Hessian (bfgs, ssbfgs, ssbroyden; float64 on the CPU, networks of at
        // most dense_max_params parameters).
        {"lbfgs_from", -1}, {"lbfgs_history", 50}, {"quasi_newton", "lbfgs"}, {"dense_max_params", 20000}}},
      {"train",
       {{"iters", 1000}, {"seed", 0}, {"log_every", 100}, {"eval_every", 500}, {"checkpoint_every", 1000},
        {"precision", "f64"}, {"threads", 0}, {"backend", "cpu"}, {"max_seconds", 0.0},
        // CUDA backend: device index, float32 GEMM arithmetic ("fp32": pedantic FP32; "tf32": TF32 tensor cores;
        // "3xtf32": error-compensated TF32, float32 accuracy), and graph replay of plain Adam steps.
        {"device", 0}, {"gemm", "fp32"}, {"cuda_graph", true},
        // A NaN/Inf step: "stop" (keep the last checkpoint, exit 1) or "rollback" (reload it, halve optim.lr).
        {"on_nan", "stop"}, {"max_rollbacks", 3}}},
      // Training-dynamics diagnostics (core/train.h): every: 0 is the paper's cadence (10 below step 300, then 100).
      {"diagnostics",
       {{"enabled", true}, {"every", 0}, {"snr_batches", 100}, {"per_sample", false}, {"include_biases", false},
        {"cells", 10}, {"compression_every", 1000}, {"probe_points", 4096}, {"bins", 30},
        {"snapshots", Json::array({100, 1000, 10000, 100000})},
        {"phase", {{"window", 5}, {"hold", 3}, {"diffusion_below", 1.0}, {"total_above", 0.5}, {"total_rise", 10.0}}}}},
      // Fault injection for the failure tests: at step inject_nan_step, a NaN goes into a parameter (before the
      // step), the loss, a gradient or an RBA multiplier; at most inject_nan_times times (rollbacks replay it).
      {"debug", {{"inject_nan_step", -1}, {"inject_nan", "param"}, {"inject_nan_times", 1}}},
  };
}

namespace {
// A value for an error message; invalid UTF-8 shows as U+FFFD instead of throwing from dump().
std::string show(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
const char* type_name(const Json& j) {
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  return "null";
}
std::string known_keys(const Json& obj) {
  std::string s;
  for (auto it = obj.begin(); it != obj.end(); ++it) s += (s.empty() ? "" : ", ") + it.key();
  return s.empty() ? "(none)" : s;
}
void patch_into(Json& base, const Json& patch, const std::string& path, const std::string& where) {
  JETPINN_CHECK(patch.is_object(), where << ": '" << (path.empty() ? "<top>" : path) << "' must be an object, got "
                                         << type_name(patch));
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string key = path.empty() ? it.key() : path + "." + it.key();
    JETPINN_CHECK(base.contains(it.key()), where << ": unknown key '" << key << "'; known keys"
                                                 << (path.empty() ? "" : " in '" + path + "'") << ": "
                                                 << known_keys(base));
    Json& b = base[it.key()];
    const Json& v = it.value();
    if (b.is_object()) {
      patch_into(b, v, key, where);
    } else if (b.is_number_integer()) {
      const bool integral = v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
                                                       std::abs(v.get<double>()) < 9e15);
      JETPINN_CHECK(integral, where << ": key '" << key << "' needs an integer, got " << show(v));
      b = v.is_number_integer() ? v.get<long long>() : static_cast<long long>(v.get<double>());
    } else if (b.is_number()) {
      JETPINN_CHECK(v.is_number(), where << ": key '" << key << "' needs a number, got " << show(v));
      b = v.get<double>();
    } else {
      JETPINN_CHECK(std::string(type_name(b)) == type_name(v),
                    where << ": key '" << key << "' needs " << type_name(b) << ", got " << show(v));
      b = v;
    }
  }
}
}  // namespace

void apply_patch(Json& base, const Json& patch, const std::string& where) { patch_into(base, patch, "", where); }

Json parse_set(const std::string& assignment) {
  const auto eq = assignment.find('=');
  JETPINN_CHECK(eq != std::string::npos && eq > 0, "--set expects key=value, got '" << assignment << "'");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  Json value = Json::parse(text, nullptr, false);
  if (value.is_discarded()) {  // a bare word is a string, if it is text: config.json must be valid JSON
    value = text;
    try {
      (void)value.dump();
    } catch (const Json::type_error&) {
      JETPINN_CHECK(false, "--set " << key << ": the value is not valid UTF-8 text");
    }
  }
  Json patch = value;
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) {
    JETPINN_CHECK(!p.empty(), "--set: malformed key '" << key << "'");
    parts.push_back(p);
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) patch = Json{{*it, patch}};
  return patch;
}

Json load_json_file(const std::string& path) {
  std::ifstream in(path);
  JETPINN_CHECK(in.good(), "cannot read config file '" << path << "'");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return Json::parse(ss.str());
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers too large for a double
    JETPINN_CHECK(false, "malformed JSON in '" << path << "': " << e.what());
  }
}

Json resolve_config(const ProblemInfo& problem, const std::string& preset, const Json* file,
                    const std::vector<std::string>& sets) {
  Json cfg = common_defaults();
  cfg["pde"] = problem.pde;
  // The loss-term weights are the problem's to declare (one per initial/boundary term).
  Json overrides = problem.overrides;
  if (overrides.contains("loss") && overrides["loss"].contains("weights")) {
    cfg["loss"]["weights"] = overrides["loss"]["weights"];
    overrides["loss"].erase("weights");
  }
  apply_patch(cfg, overrides, "problem '" + problem.name + "' defaults");
  cfg["problem"] = problem.name;
  std::string p = preset;
  if (p.empty() && file && file->contains("preset") && (*file)["preset"].is_string()) p = (*file)["preset"];
  if (!p.empty()) {
    auto it = problem.presets.find(p);
    std::string known;
    for (const auto& kv : problem.presets) known += (known.empty() ? "" : ", ") + kv.first;
    JETPINN_CHECK(it != problem.presets.end(), "unknown preset '" << p << "' for problem '" << problem.name
                                                                   << "'; presets: " << known);
    apply_patch(cfg, it->second, "preset '" + p + "'");
    cfg["preset"] = p;
  }
  if (file) {
    JETPINN_CHECK(file->is_object(), "config file must hold a JSON object");
    if (file->contains("problem"))
      JETPINN_CHECK((*file)["problem"] == problem.name, "config file is for problem " << show((*file)["problem"])
                                                                                       << ", not '" << problem.name << "'");
    Json f = *file;
    f.erase("preset");
    apply_patch(cfg, f, "config file");
  }
  for (const auto& s : sets) apply_patch(cfg, parse_set(s), "--set " + s);
  validate_config(cfg);
  return cfg;
}

void validate_config(const Json& cfg) {
  auto num = [&](const char* a, const char* b) { return cfg.at(a).at(b).get<double>(); };
  auto positive_int = [&](const char* a, const char* b, long long lo) {
    const long long v = cfg.at(a).at(b).get<long long>();
    JETPINN_CHECK(v >= lo, "'" << a << "." << b << "' must be >= " << lo << ", got " << v);
  };
  positive_int("net", "depth", 1);
  positive_int("net", "width", 1);
  positive_int("net", "fourier_modes", 0);
  positive_int("points", "collocation", 1);
  positive_int("points", "boundary", 0);
  positive_int("points", "initial", 0);
  positive_int("points", "resample_every", 0);
  positive_int("train", "iters", 0);
  positive_int("train", "log_every", 1);
  positive_int("train", "eval_every", 0);
  positive_int("train", "checkpoint_every", 0);
  positive_int("train", "threads", 0);
  positive_int("train", "seed", 0);
  JETPINN_CHECK(num("train", "max_seconds") >= 0, "'train.max_seconds' must be >= 0 (0: no limit)");
  positive_int("optim", "lbfgs_history", 1);
  positive_int("optim", "lbfgs_from", -1);
  positive_int("optim", "dense_max_params", 1);
  positive_int("debug", "inject_nan_step", -1);
  positive_int("diagnostics", "every", 0);
  positive_int("diagnostics", "snr_batches", 2);
  positive_int("diagnostics", "cells", 1);
  positive_int("diagnostics", "compression_every", 0);
  positive_int("diagnostics", "probe_points", 1);
  positive_int("diagnostics", "bins", 1);
  const Json& ph = cfg.at("diagnostics").at("phase");
  JETPINN_CHECK(ph.at("window").get<long long>() >= 1 && ph.at("hold").get<long long>() >= 1,
                "'diagnostics.phase.window' and 'diagnostics.phase.hold' must be >= 1");
  JETPINN_CHECK(ph.at("diffusion_below").get<double>() > 0 && ph.at("total_above").get<double>() > 0 &&
                    ph.at("total_rise").get<double>() >= 1,
                "'diagnostics.phase' thresholds must be > 0 and total_rise >= 1");
  for (const Json& s : cfg.at("diagnostics").at("snapshots"))
    JETPINN_CHECK(s.is_number_integer() && s.get<long long>() >= 0,
                  "'diagnostics.snapshots' must list steps (integers >= 0), got " << show(s));
  positive_int("debug", "inject_nan_times", 0);
  positive_int("train", "max_rollbacks", 0);
  const std::string on_nan = cfg.at("train").at("on_nan"), inject = cfg.at("debug").at("inject_nan");
  JETPINN_CHECK(on_nan == "stop" || on_nan == "rollback", "'train.on_nan' must be stop or rollback, got '" << on_nan << "'");
  JETPINN_CHECK(inject == "param" || inject == "loss" || inject == "grad" || inject == "rba",
                "'debug.inject_nan' must be param, loss, grad or rba, got '" << inject << "'");
  JETPINN_CHECK(num("optim", "lr") > 0, "'optim.lr' must be > 0, got " << num("optim", "lr"));
  for (const char* b : {"beta1", "beta2"})
    JETPINN_CHECK(num("optim", b) >= 0 && num("optim", b) < 1, "'optim." << b << "' must be in [0, 1), got "
                                                                        << num("optim", b));
  JETPINN_CHECK(num("optim", "eps") > 0, "'optim.eps' must be > 0");
  const Json& rba = cfg.at("loss").at("rba");
  JETPINN_CHECK(rba.at("eta").get<double>() >= 0, "'loss.rba.eta' must be >= 0");
  JETPINN_CHECK(rba.at("gamma").get<double>() >= 0 && rba.at("gamma").get<double>() <= 1,
                "'loss.rba.gamma' must be in [0, 1]");
  const std::string variant = rba.at("variant"), init = rba.at("init");
  JETPINN_CHECK(variant == "max" || variant == "minmax", "'loss.rba.variant' must be max or minmax, got '" << variant << "'");
  JETPINN_CHECK(init == "zero" || init == "residual", "'loss.rba.init' must be zero or residual, got '" << init << "'");
  for (auto it = cfg.at("loss").at("weights").begin(); it != cfg.at("loss").at("weights").end(); ++it)
    JETPINN_CHECK(it.value().get<double>() >= 0, "'loss.weights." << it.key() << "' must be >= 0");
  const std::string precision = cfg.at("train").at("precision"), backend = cfg.at("train").at("backend");
  JETPINN_CHECK(precision == "f32" || precision == "f64", "'train.precision' must be f32 or f64, got '" << precision << "'");
  JETPINN_CHECK(backend == "cpu" || backend == "cuda", "'train.backend' must be cpu or cuda, got '" << backend << "'");
  const std::string qn = cfg.at("optim").at("quasi_newton");
  JETPINN_CHECK(qn == "lbfgs" || qn == "bfgs" || qn == "ssbfgs" || qn == "ssbroyden",
                "'optim.quasi_newton' must be lbfgs, bfgs, ssbfgs or ssbroyden, got '" << qn << "'");
  JETPINN_CHECK(qn == "lbfgs" || precision == "f64", "'optim.quasi_newton=" << qn
                    << "' (a dense inverse Hessian) runs in float64 only: set train.precision=f64 or use optim.quasi_newton=lbfgs");
  JETPINN_CHECK(qn == "lbfgs" || backend == "cpu", "'optim.quasi_newton=" << qn
                    << "' keeps its dense inverse Hessian on the host: use train.backend=cpu or optim.quasi_newton=lbfgs");
  const std::string gemm = cfg.at("train").at("gemm");
  JETPINN_CHECK(gemm == "fp32" || gemm == "tf32" || gemm == "3xtf32",
                "'train.gemm' must be fp32, tf32 or 3xtf32, got '" << gemm << "'");
  JETPINN_CHECK(gemm == "fp32" || (backend == "cuda" && precision == "f32"),
                "'train.gemm=" << gemm << "' (TF32 tensor cores) needs train.backend=cuda and train.precision=f32");
  JETPINN_CHECK(cfg.at("train").at("device").get<long>() >= 0, "'train.device' must be >= 0");
  JETPINN_CHECK(num("optim", "lr") < 10, "'optim.lr' is implausibly large");
  parse_lr_kind(cfg.at("optim").at("schedule").at("kind"));
  parse_activation(cfg.at("net").at("activation"));
}

std::vector<std::string> flatten_keys(const Json& j, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().is_object() && !it.value().empty()) {
      auto sub = flatten_keys(it.value(), key);
      out.insert(out.end(), sub.begin(), sub.end());
    } else {
      out.push_back(key + " = " + it.value().dump());
    }
  }
  return out;
}

}  // namespace jetpinn
