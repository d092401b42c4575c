// Configuration layers and checks (see config.h).
#include "config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "options.h"

namespace jetpinn {

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
  // Each key against its entry in the option table (ranges and choices), then the rules between keys.
  for (const OptionSpec& spec : option_specs()) spec.check(option_value(cfg, spec.key));
  const std::string precision = cfg.at("train").at("precision"), backend = cfg.at("train").at("backend");
  const std::string qn = cfg.at("optim").at("quasi_newton");
  JETPINN_CHECK(qn == "lbfgs" || precision == "f64", "'optim.quasi_newton=" << qn
                    << "' (a dense inverse Hessian) runs in float64 only: set train.precision=f64 or use optim.quasi_newton=lbfgs");
  JETPINN_CHECK(qn == "lbfgs" || backend == "cpu", "'optim.quasi_newton=" << qn
                    << "' keeps its dense inverse Hessian on the host: use train.backend=cpu or optim.quasi_newton=lbfgs");
  const std::string gemm = cfg.at("train").at("gemm");
  JETPINN_CHECK(gemm == "fp32" || (backend == "cuda" && precision == "f32"),
                "'train.gemm=" << gemm << "' (TF32 tensor cores) needs train.backend=cuda and train.precision=f32");
}

}  // namespace jetpinn
