// eval and reference commands (see eval_command.h). The points CSV is read by points_csv.h; the output CSV
// repeats the input columns, then one column per quantity.
#include "eval_command.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "checkpoint.h"
#include "config.h"
#include "model.h"
#include "npy.h"
#include "points_csv.h"

namespace jetpinn {

namespace {

template <class T>
RowMat<double> evaluate_run(const ProblemInfo& info, const Json& cfg, const Checkpoint& ck, const RowMat<double>& pts,
                            const std::vector<std::string>& names) {
  return Model<T>::open(info, cfg, ck).evaluate(pts, names);
}

// A run folder's problem, checked configuration and checkpoint.
struct RunFolder {
  const ProblemInfo* info = nullptr;
  Json cfg;
  Checkpoint ck;
  bool f32() const { return cfg.at("train").at("precision") == "f32"; }
};
RunFolder read_run(const std::string& dir) {
  const Json cfg = load_json_file(dir + "/config.json");
  JETPINN_CHECK(cfg.contains("problem") && cfg["problem"].is_string(), dir << "/config.json names no problem");
  RunFolder r;
  r.info = &find_problem(cfg["problem"]);
  r.cfg = resolve_config(*r.info, "", &cfg, {});
  r.ck = Checkpoint::read(dir + "/checkpoint", r.info->name);
  return r;
}

}  // namespace

int run_eval(const EvalArgs& a) {
  const RunFolder run = read_run(a.run);
  const ProblemInfo& info = *run.info;
  std::vector<std::string> names = a.derivs.empty() ? info.outputs : split_fields(a.derivs, ',');
  for (const auto& n : names) parse_quantity(info, n);  // unknown names fail before any work
  const RowMat<double> pts = read_points_csv(a.points, info.inputs);
  const RowMat<double> q = run.f32() ? evaluate_run<float>(info, run.cfg, run.ck, pts, names)
                                     : evaluate_run<double>(info, run.cfg, run.ck, pts, names);
  std::ostringstream os;
  os.precision(17);
  for (std::size_t i = 0; i < info.inputs.size(); ++i) os << (i ? "," : "") << info.inputs[i];
  for (const auto& n : names) os << "," << n;
  os << "\n";
  for (Index r = 0; r < pts.rows(); ++r) {
    for (Index c = 0; c < pts.cols(); ++c) os << (c ? "," : "") << pts(r, c);
    for (Index c = 0; c < q.cols(); ++c) os << "," << q(r, c);
    os << "\n";
  }
  if (a.out.empty()) {
    std::cout << os.str();
  } else {
    std::ofstream out(a.out);
    JETPINN_CHECK(out.good(), "cannot write '" << a.out << "'");
    out << os.str();
    JETPINN_CHECK(out.good(), "writing '" << a.out << "' failed");
  }
  return 0;
}

int run_export(const ExportArgs& a) {
  JETPINN_CHECK(std::filesystem::path(a.out).extension() == ".npz", "--out: name an .npz file, got '" << a.out << "'");
  const RunFolder run = read_run(a.run);
  if (run.f32()) Model<float>::open(*run.info, run.cfg, run.ck).save_parameters(a.out);
  else Model<double>::open(*run.info, run.cfg, run.ck).save_parameters(a.out);
  std::cout << "wrote " << a.out << " (the weights of " << a.run << " by name: layer0.W out x in, layer0.b, ...)\n";
  return 0;
}

int run_reference(const ReferenceArgs& a) {
  const ProblemInfo& info = find_problem(a.problem);
  const Json cfg = resolve_config(info, a.preset, nullptr, a.sets);
  const Reference ref = info.reference(cfg);
  std::vector<std::size_t> shape;
  for (const auto& ax : ref.axes) shape.push_back(ax.size());
  std::vector<std::pair<std::string, NpyArray>> grid;
  for (std::size_t i = 0; i < ref.axes.size(); ++i) grid.push_back({ref.axis_names[i], NpyArray{{ref.axes[i].size()}, ref.axes[i]}});
  namespace fs = std::filesystem;
  const fs::path out(a.out);
  if (ref.fields.size() == 1) {
    JETPINN_CHECK(out.extension() == ".npy", "--out: problem '" << info.name << "' has one field; name a .npy file");
    write_npy(out.string(), shape, ref.values[0].data());
    const fs::path g = out.parent_path() / (out.stem().string() + "_grid.npz");
    write_npz(g.string(), grid);
    std::cout << "wrote " << out.string() << " (" << ref.fields[0] << ", axes";
    for (const auto& n : ref.axis_names) std::cout << " " << n;
    std::cout << ") and " << g.string() << "\n";
  } else {
    JETPINN_CHECK(out.extension() == ".npz", "--out: problem '" << info.name << "' has several fields; name a .npz file");
    std::vector<std::pair<std::string, NpyArray>> arrays;
    for (std::size_t f = 0; f < ref.fields.size(); ++f) arrays.push_back({ref.fields[f], NpyArray{shape, ref.values[f]}});
    for (auto& g : grid) arrays.push_back({"axis_" + g.first, std::move(g.second)});
    write_npz(out.string(), arrays);
    std::cout << "wrote " << out.string() << "\n";
  }
  return 0;
}

}  // namespace jetpinn
