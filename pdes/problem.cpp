// The problem registry and quantity evaluation (see problem.h).
#include "problem.h"

#include <algorithm>

#include "builtin_problems.h"

namespace jetpinn {

namespace {
std::vector<ProblemInfo>& registry() {
  static std::vector<ProblemInfo> r = [] {
    std::vector<ProblemInfo> v;
    for (auto& info : builtin_problems()) v.push_back(std::move(info));
    return v;
  }();
  return r;
}
}  // namespace

void add_problem(ProblemInfo info) {
  JETPINN_CHECK(info.presets.count("quick"), "problem '" << info.name << "' needs a 'quick' preset");
  JETPINN_CHECK(info.make_f32 && info.make_f64 && info.reference, "problem '" << info.name << "' is incomplete");
  auto& r = registry();
  r.erase(std::remove_if(r.begin(), r.end(), [&](const ProblemInfo& p) { return p.name == info.name; }), r.end());
  r.push_back(std::move(info));
}

const std::vector<ProblemInfo>& problems() { return registry(); }

const ProblemInfo& find_problem(const std::string& name) {
  std::string known;
  for (const auto& p : problems()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  JETPINN_CHECK(false, "unknown problem '" << name << "'; known problems: " << known);
}

const std::vector<double>& Reference::field(const std::string& name) const {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i] == name) return values[i];
  JETPINN_CHECK(false, "the reference has no field '" << name << "'");
}

void Reference::add_field(std::string name, std::vector<double> v) {
  JETPINN_CHECK(static_cast<Index>(v.size()) == points.rows(),
                "reference field '" << name << "' has " << v.size() << " values for " << points.rows() << " points");
  fields.push_back(std::move(name));
  values.push_back(std::move(v));
}

Reference grid_reference(std::vector<std::string> axis_names, std::vector<double> axis0, std::vector<double> axis1) {
  Reference ref;
  ref.points.resize(static_cast<Index>(axis0.size() * axis1.size()), 2);
  for (std::size_t i = 0; i < axis0.size(); ++i)
    for (std::size_t j = 0; j < axis1.size(); ++j) ref.points.row(static_cast<Index>(i * axis1.size() + j)) << axis0[i], axis1[j];
  ref.axis_names = std::move(axis_names);
  ref.axes = {std::move(axis0), std::move(axis1)};
  return ref;
}

std::vector<double> linspace(double lo, double hi, int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = n == 1 ? lo : lo + (hi - lo) * i / (n - 1);
  return v;
}

template <class T>
Var<T> Problem<T>::derived(const std::string& name, Var<T>, Tape<T>&) const {
  JETPINN_CHECK(false, "quantity '" << name << "' is not derived by this problem");
}

QuantityName parse_quantity(const ProblemInfo& info, const std::string& name) {
  QuantityName q;
  if (std::find(info.derived.begin(), info.derived.end(), name) != info.derived.end()) {
    q.derived = name;
    return q;
  }
  for (std::size_t o = 0; o < info.outputs.size(); ++o) {
    const std::string& out = info.outputs[o];
    if (name == out || (name.size() > out.size() + 1 && name.compare(0, out.size() + 1, out + "_") == 0)) {
      q.output = static_cast<int>(o);
      q.stream = name == out ? "" : name.substr(out.size() + 1);
      return q;
    }
  }
  std::string known;
  for (const auto& o : info.outputs) known += (known.empty() ? "" : ", ") + o + ", " + o + "_x, ...";
  for (const auto& d : info.derived) known += ", " + d;
  JETPINN_CHECK(false, "unknown quantity '" << name << "' for problem '" << info.name << "'; known: " << known);
}

template <class T>
StreamSetPtr quantity_streams(const ProblemInfo& info, const Problem<T>& problem, const std::vector<std::string>& names) {
  std::vector<std::string> requests;
  for (const auto& n : names) {
    QuantityName q = parse_quantity(info, n);
    if (!q.derived.empty()) {
      for (const auto& s : problem.derived_streams(q.derived)) requests.push_back(s);
    } else {
      requests.push_back(q.stream);
    }
  }
  return StreamSet::make(info.inputs, requests, info.laplacian_inputs);
}

template <class T>
QuantityEvaluator<T>::QuantityEvaluator(const Problem<T>& problem, const Mlp<T>& net)
    // Evaluation records no backward pass, so the tape may point at the (const) network's parameters.
    : m_problem(problem), m_net(net), m_tape(const_cast<ParamStore<T>*>(&net.params())) {}

template <class T>
RowMat<double> QuantityEvaluator<T>::operator()(const ProblemInfo& info, const RowMat<double>& points,
                                                const std::vector<std::string>& names, Index batch) {
  JETPINN_CHECK(points.cols() == static_cast<Index>(info.inputs.size()),
                "points have " << points.cols() << " columns; problem '" << info.name << "' has "
                               << info.inputs.size() << " inputs");
  if (!m_streams || names != m_names) {
    m_streams = quantity_streams(info, m_problem, names);
    m_parsed.clear();
    for (const auto& n : names) m_parsed.push_back(parse_quantity(info, n));
    m_names = names;
  }
  RowMat<double> result(points.rows(), static_cast<Index>(names.size()));
  for (Index b0 = 0; b0 < points.rows(); b0 += batch) {
    const Index n = std::min(batch, points.rows() - b0);
    m_tape.reset();
    m_points = points.middleRows(b0, n).template cast<T>();
    Var<T> out = m_net.forward(m_tape, m_tape.input(m_points, m_streams));
    for (std::size_t i = 0; i < names.size(); ++i) {
      const QuantityName& q = m_parsed[i];
      Var<T> v = q.derived.empty() ? out.d(q.stream).col(q.output) : m_problem.derived(q.derived, out, m_points, m_tape);
      result.block(b0, static_cast<Index>(i), n, 1) = v.value().mat().template cast<double>();
    }
  }
  return result;
}

template <class T>
RowMat<double> evaluate_quantities(const ProblemInfo& info, const Problem<T>& problem, const Mlp<T>& net,
                                   const RowMat<double>& points, const std::vector<std::string>& names, Index batch) {
  return QuantityEvaluator<T>(problem, net)(info, points, names, batch);
}

template class Problem<float>;
template class Problem<double>;
template class QuantityEvaluator<float>;
template class QuantityEvaluator<double>;
template StreamSetPtr quantity_streams(const ProblemInfo&, const Problem<float>&, const std::vector<std::string>&);
template StreamSetPtr quantity_streams(const ProblemInfo&, const Problem<double>&, const std::vector<std::string>&);
template RowMat<double> evaluate_quantities(const ProblemInfo&, const Problem<float>&, const Mlp<float>&,
                                            const RowMat<double>&, const std::vector<std::string>&, Index);
template RowMat<double> evaluate_quantities(const ProblemInfo&, const Problem<double>&, const Mlp<double>&,
                                            const RowMat<double>&, const std::vector<std::string>&, Index);

}  // namespace jetpinn
