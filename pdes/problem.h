// The problem interface. A problem declares its inputs, outputs, domain and parameters (ProblemInfo, with
// default configuration and named presets), builds its loss terms (residual, initial, boundary) from a
// configuration, optionally imposes hard boundary conditions on the network, names the quantities a user can
// evaluate (outputs with derivative suffixes such as u_xx, plus derived ones such as the cavity's v = -psi_x),
// and computes its reference solution on an evaluation grid. A user's PDE registers with register_problem().
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mlp.h"
#include "samplers.h"
#include "terms.h"

namespace jetpinn {

using Json = nlohmann::json;

// A reference solution on a grid. points holds every grid point (row-major over the axes, columns in the
// problem's input order); values[f] holds field f at those points.
struct Reference {
  std::vector<std::string> axis_names;
  std::vector<std::vector<double>> axes;
  RowMat<double> points;
  std::vector<std::string> fields;
  std::vector<std::vector<double>> values;
  std::string metric;  // the field whose relative L2 error is reported
  const std::vector<double>& field(const std::string& name) const;
  void add_field(std::string name, std::vector<double> v);  // one value per point
};

// A reference on the tensor grid of two axes (points row-major, the first axis slowest), with no fields yet.
Reference grid_reference(std::vector<std::string> axis_names, std::vector<double> axis0, std::vector<double> axis1);
// n evenly spaced values from lo to hi inclusive.
std::vector<double> linspace(double lo, double hi, int n);

template <class T>
class Problem {
 public:
  virtual ~Problem() = default;
  // Loss terms with point counts and weights from the configuration (sampling is done by the trainer).
  virtual std::vector<Term<T>> terms(const Json& cfg) const = 0;
  // Hard boundary conditions, when the configuration asks for them.
  virtual void configure_network(Mlp<T>& /*net*/, const Json& /*cfg*/) const {}
  // Derived quantities (beyond outputs and their derivatives): the streams they need and how to form them.
  virtual std::vector<std::string> derived_streams(const std::string& /*name*/) const { return {}; }
  virtual Var<T> derived(const std::string& name, Var<T> /*out*/, Tape<T>& /*tape*/) const;
  // The same with the evaluation points (P x inputs), for a quantity that adds a known function of position;
  // by default the overload above.
  virtual Var<T> derived(const std::string& name, Var<T> out, const RowMat<T>& /*points*/, Tape<T>& tape) const {
    return derived(name, out, tape);
  }
};

struct ProblemInfo {
  std::string name, description;
  std::vector<std::string> inputs, outputs;
  std::vector<std::string> derived;           // extra quantities, e.g. {"u", "v", "speed"} for the cavity
  std::vector<std::string> laplacian_inputs;  // inputs a "lap" stream sums over
  Box domain;
  std::vector<int> periodic;                  // inputs the solution is periodic in (Fourier features allowed)
  Json pde = Json::object();                  // default PDE parameters
  std::map<std::string, std::string> pde_help;  // one line per PDE parameter, for `jetpinn list PROBLEM`
  Json overrides = Json::object();                           // this problem's changes to the common defaults
  std::map<std::string, Json> presets;        // named patches over the defaults; "quick" is required
  std::function<Reference(const Json& cfg)> reference;
  std::function<std::unique_ptr<Problem<float>>(const Json& cfg)> make_f32;
  std::function<std::unique_ptr<Problem<double>>(const Json& cfg)> make_f64;
};

// Adds a problem to the registry (replacing one of the same name).
void add_problem(ProblemInfo info);
// Fills the factories of a problem class template P<T> (constructed from the resolved configuration).
template <template <class> class P>
ProblemInfo with_factories(ProblemInfo info) {
  info.make_f32 = [](const Json& cfg) { return std::unique_ptr<Problem<float>>(new P<float>(cfg)); };
  info.make_f64 = [](const Json& cfg) { return std::unique_ptr<Problem<double>>(new P<double>(cfg)); };
  return info;
}
template <template <class> class P>
void register_problem(ProblemInfo info) {
  add_problem(with_factories<P>(std::move(info)));
}

const std::vector<ProblemInfo>& problems();
const ProblemInfo& find_problem(const std::string& name);  // throws listing the known problems

// "u_xx" -> output column 0, stream "xx"; throws naming the known outputs.
struct QuantityName {
  int output = -1;        // >= 0 for an output (with an optional derivative)
  std::string stream;     // "" for the value
  std::string derived;    // set instead for a derived quantity
};
QuantityName parse_quantity(const ProblemInfo& info, const std::string& name);
// Streams needed to evaluate these quantities.
template <class T>
StreamSetPtr quantity_streams(const ProblemInfo& info, const Problem<T>& problem, const std::vector<std::string>& names);
// Evaluate quantities at points (float64 results, one column each).
template <class T>
RowMat<double> evaluate_quantities(const ProblemInfo& info, const Problem<T>& problem, const Mlp<T>& net,
                                   const RowMat<double>& points, const std::vector<std::string>& names,
                                   Index batch = 8192);

// evaluate_quantities that keeps its tape, streams and input buffer between calls: a call with the quantities
// and point count of the previous one records into the same node buffers and allocates only its result. The
// problem and network must outlive it, and `info` must be theirs in every call; one call at a time.
template <class T>
class QuantityEvaluator {
 public:
  QuantityEvaluator(const Problem<T>& problem, const Mlp<T>& net);
  RowMat<double> operator()(const ProblemInfo& info, const RowMat<double>& points, const std::vector<std::string>& names,
                            Index batch = 8192);

 private:
  const Problem<T>& m_problem;
  const Mlp<T>& m_net;
  std::vector<std::string> m_names;  // the quantities m_streams and m_parsed were built for
  StreamSetPtr m_streams;
  std::vector<QuantityName> m_parsed;
  Tape<T> m_tape;
  RowMat<T> m_points;  // one batch in T
};

}  // namespace jetpinn
