// ProblemSpec -> ProblemInfo (see pde.h): SpecProblem<T> builds the loss terms from the spec's term list.
#include "pde.h"

#include <memory>

namespace jetpinn {

namespace {

const char* precision_name(float) { return "f32"; }
const char* precision_name(double) { return "f64"; }

template <class T>
class SpecProblem : public Problem<T> {
 public:
  SpecProblem(std::shared_ptr<const ProblemSpec> spec) : m_spec(std::move(spec)) {}

  std::vector<Term<T>> terms(const Json& cfg) const override {
    const ProblemSpec& s = *m_spec;
    std::vector<Term<T>> out;
    for (std::size_t i = 0; i < s.terms().size(); ++i) {
      const TermSpec& ts = s.terms()[i];
      Term<T> t;
      t.name = ts.name;
      t.is_pde = ts.pde;
      t.weight = ts.weight;
      t.streams = StreamSet::make(s.inputs, ts.derivatives, s.laplacian_inputs);
      const Index fallback = cfg.at("points").at(ts.pde ? "collocation" : "boundary").get<Index>();
      t.count = ts.points.rows() > 0 ? ts.points.rows() : ts.count > 0 ? ts.count : fallback;
      t.residual = ts.residual.get<T>();
      JETPINN_CHECK(t.residual, "term '" << ts.name << "': its residual only accepts float64 jets; write it as a generic "
                                         "lambda [](auto u, auto& tape, const auto& term) to train in "
                                      << precision_name(T()));
      // The spec outlives the term: the shared pointer is captured, not the reference.
      t.sample = [spec = m_spec, i](Term<T>& term, Rng& rng) {
        const TermSpec& sp = spec->terms()[i];
        const Box& box = sp.box.lo.empty() ? spec->domain : sp.box;
        RowMat<double> p = sp.points.rows() > 0 ? sp.points
                           : sp.sampler        ? sp.sampler(term.count, rng)
                                               : latin_hypercube(box, term.count, rng);
        JETPINN_CHECK(p.rows() == term.count && p.cols() == static_cast<Index>(spec->inputs.size()),
                      "term '" << sp.name << "': points are " << p.rows() << " x " << p.cols() << ", expected "
                               << term.count << " x " << spec->inputs.size() << " (one column per input)");
        term.points = p.cast<T>();
        if (sp.data) {
          RowMat<double> d = sp.data(p);
          JETPINN_CHECK(d.rows() == p.rows(), "term '" << sp.name << "': data() returned " << d.rows()
                                                      << " rows for " << p.rows() << " points; return one row per point");
          term.data = d.cast<T>();
        }
      };
      out.push_back(std::move(t));
    }
    return out;
  }

  void configure_network(Mlp<T>& net, const Json&) const override {
    const auto& f = m_spec->hard_bc_factor().template get<T>();
    const auto& g = m_spec->hard_bc_offset().template get<T>();
    const bool missing = (m_spec->hard_bc_factor().f64 && !f) || (m_spec->hard_bc_offset().f64 && !g);
    JETPINN_CHECK(!missing, "the hard boundary condition only accepts float64 jets; write it as a generic lambda "
                            "[](auto x) to train in " << precision_name(T()));
    if (f || g) net.set_output_transform(f, g);
  }

 private:
  std::shared_ptr<const ProblemSpec> m_spec;
};

}  // namespace

void ProblemSpec::set_exact(std::function<double(double, double)> u, int n) {
  m_exact = std::move(u);
  m_exact_n = n;
}

namespace {
// The reference of set_exact(): output 0 on an n x n grid over a 2-D domain.
std::function<Reference(const Json&)> exact_reference(const ProblemSpec& s, std::function<double(double, double)> u, int n) {
  JETPINN_CHECK(s.inputs.size() == 2 && n >= 2, "problem '" << s.name << "': set_exact() builds a 2-D grid of n >= 2 "
                                                                "points per side; for other dimensions set ProblemSpec::reference");
  return [u = std::move(u), n, lo = s.domain.lo, hi = s.domain.hi, in = s.inputs, field = s.outputs[0]](const Json&) {
    Reference ref = grid_reference(in, linspace(lo[0], hi[0], n), linspace(lo[1], hi[1], n));
    std::vector<double> v(static_cast<std::size_t>(ref.points.rows()));
    for (Index i = 0; i < ref.points.rows(); ++i) v[static_cast<std::size_t>(i)] = u(ref.points(i, 0), ref.points(i, 1));
    ref.add_field(field, std::move(v));
    ref.metric = field;
    return ref;
  };
}
}  // namespace

ProblemInfo ProblemSpec::info() const {
  const std::size_t d = inputs.size();
  JETPINN_CHECK(d > 0 && !outputs.empty(), "problem '" << name << "' needs inputs and outputs (ProblemSpec::inputs, outputs)");
  const bool has_domain = !domain.lo.empty() || !domain.hi.empty();  // optional when every term has its points
  JETPINN_CHECK(!has_domain || (domain.lo.size() == d && domain.hi.size() == d),
                "problem '" << name << "': the domain needs lo and hi for each of the " << d << " inputs");
  JETPINN_CHECK(has_domain || !m_exact, "problem '" << name << "': set_exact() builds its grid over the domain; set "
                                                       "ProblemSpec::domain (lo and hi for each of the " << d << " inputs)");
  JETPINN_CHECK(!m_terms.empty(), "problem '" << name << "' has no loss terms; add one with add_term()");
  for (const TermSpec& t : m_terms) {
    JETPINN_CHECK(!t.name.empty(), "problem '" << name << "': every term needs a name");
    JETPINN_CHECK(has_domain || t.points.rows() > 0 || t.sampler || !t.box.lo.empty(),
                  "problem '" << name << "': term '" << t.name << "' draws its points over the domain, which is not set; "
                              "set ProblemSpec::domain, or the term's box, sampler or points");
    JETPINN_CHECK(t.points.rows() == 0 || t.points.cols() == static_cast<Index>(d),
                  "term '" << t.name << "': its fixed points have " << t.points.cols() << " columns; the problem has "
                           << d << " inputs");
    JETPINN_CHECK(t.box.lo.empty() || (t.box.lo.size() == d && t.box.hi.size() == d),
                  "term '" << t.name << "': its box needs lo and hi for each of the " << d << " inputs");
    StreamSet::make(inputs, t.derivatives, laplacian_inputs);  // an unknown derivative fails here, naming it
  }
  ProblemInfo info;
  info.name = name;
  info.description = description;
  info.inputs = inputs;
  info.outputs = outputs;
  info.laplacian_inputs = laplacian_inputs;
  info.domain = domain;
  info.overrides = defaults;
  info.presets["quick"] = Json::object();  // the registry asks every problem for one
  info.reference = m_exact ? exact_reference(*this, m_exact, m_exact_n) : reference;  // may be empty: no error metric
  auto spec = std::make_shared<const ProblemSpec>(*this);
  info.make_f32 = [spec](const Json&) { return std::unique_ptr<Problem<float>>(new SpecProblem<float>(spec)); };
  info.make_f64 = [spec](const Json&) { return std::unique_ptr<Problem<double>>(new SpecProblem<double>(spec)); };
  return info;
}

}  // namespace jetpinn
