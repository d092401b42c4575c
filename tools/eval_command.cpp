// eval and reference commands (see eval_command.h). The points CSV has a header naming the problem's inputs
// (any order, extra columns ignored); the output CSV repeats the input columns, then one column per quantity.
#include "eval_command.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "checkpoint.h"
#include "npy.h"
#include "run_setup.h"

namespace jetpinn {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) {
    const auto b = part.find_first_not_of(" \t\r"), e = part.find_last_not_of(" \t\r");
    out.push_back(b == std::string::npos ? "" : part.substr(b, e - b + 1));
  }
  return out;
}

// Reads the input columns of a points CSV; one error naming the file and line for anything malformed.
RowMat<double> read_points_csv(const std::string& path, const std::vector<std::string>& inputs) {
  std::ifstream in(path);
  JETPINN_CHECK(in.good(), "cannot read points file '" << path << "'");
  std::string line;
  JETPINN_CHECK(std::getline(in, line), "points file '" << path << "' is empty; it needs a header naming the inputs");
  const std::vector<std::string> header = split(line, ',');
  std::vector<std::size_t> col;
  for (const auto& name : inputs) {
    std::size_t c = 0;
    while (c < header.size() && header[c] != name) ++c;
    JETPINN_CHECK(c < header.size(), "points file '" << path << "': the header '" << line << "' has no column '" << name
                                                     << "' (the problem's inputs are needed by name)");
    col.push_back(c);
  }
  std::vector<double> values;
  long row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::vector<std::string> cells = split(line, ',');
    JETPINN_CHECK(cells.size() == header.size(), "points file '" << path << "' line " << row << ": " << cells.size()
                                                                 << " fields, the header has " << header.size());
    for (std::size_t c : col) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(cells[c], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      JETPINN_CHECK(used == cells[c].size() && used > 0 && std::isfinite(v),
                    "points file '" << path << "' line " << row << ": '" << cells[c] << "' is not a finite number");
      values.push_back(v);
    }
  }
  const Index n = static_cast<Index>(values.size() / inputs.size());
  JETPINN_CHECK(n > 0, "points file '" << path << "' has no points");
  return Eigen::Map<RowMat<double>>(values.data(), n, static_cast<Index>(inputs.size()));
}

template <class T>
RowMat<double> evaluate_run(const ProblemInfo& info, const Json& cfg, const Checkpoint& ck, const RowMat<double>& pts,
                            const std::vector<std::string>& names) {
  auto problem = make_problem<T>(info, cfg);
  Mlp<T> net(network_config(info, cfg), 0);
  problem->configure_network(net, cfg);
  const auto params = ck.get_sized<T>("params", static_cast<std::size_t>(net.params().size()));
  std::copy(params.begin(), params.end(), net.params().values());
  return evaluate_quantities(info, *problem, net, pts, names);
}

}  // namespace

int run_eval(const EvalArgs& a) {
  const Json cfg = load_json_file(a.run + "/config.json");
  JETPINN_CHECK(cfg.contains("problem") && cfg["problem"].is_string(), a.run << "/config.json names no problem");
  const ProblemInfo& info = find_problem(cfg["problem"]);
  const Json checked = resolve_config(info, "", &cfg, {});
  const Checkpoint ck = Checkpoint::read(a.run + "/checkpoint", info.name);
  std::vector<std::string> names = a.derivs.empty() ? info.outputs : split(a.derivs, ',');
  for (const auto& n : names) parse_quantity(info, n);  // unknown names fail before any work
  const RowMat<double> pts = read_points_csv(a.points, info.inputs);
  const RowMat<double> q = checked.at("train").at("precision") == "f32"
                               ? evaluate_run<float>(info, checked, ck, pts, names)
                               : evaluate_run<double>(info, checked, ck, pts, names);
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
