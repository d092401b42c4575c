// ProblemSpec: a PDE problem defined without writing a class. Name the inputs, outputs and domain, then add
// loss terms: each lists the derivatives its residual reads ("x", "xx", "txx", "lap", "lap_x"), where its points
// come from (Latin hypercube over the domain or a box, your own sampler, or fixed points), per-point data
// (sources, targets), and a residual written once as a generic lambda over jet expressions,
//   [](auto u, auto& tape, const auto& term) { return u.d("lap") + tape.constant(term.data); }
// so one definition trains in float32 and float64. info() turns it into the ProblemInfo that Model trains
// (and that register_problem / driver_main accept).
#pragma once
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "problem.h"

namespace jetpinn {

template <class T>
using Residual = std::function<Var<T>(Var<T> out, Tape<T>& tape, const Term<T>& term)>;
template <class T>
using Transform = std::function<Var<T>(Var<T> x)>;

// A callable kept in both precisions; the float32 slot stays empty when it only accepts float64 arguments.
template <template <class> class Fn>
struct BothPrecisions {
  Fn<float> f32;
  Fn<double> f64;
  template <class F>
  void set(const F& f) {
    if constexpr (std::is_constructible_v<Fn<float>, const F&>) f32 = f;
    f64 = f;
  }
  template <class T>
  const Fn<T>& get() const {
    if constexpr (std::is_same_v<T, float>) return f32;
    else return f64;
  }
};

struct TermSpec {
  TermSpec() = default;
  TermSpec(std::string name_, std::vector<std::string> derivatives_, bool pde_ = false)
      : name(std::move(name_)), derivatives(std::move(derivatives_)), pde(pde_) {}
  std::string name;                      // "residual", "bc", "ic", "data", ...; loss.weights.<name> sets its weight
  std::vector<std::string> derivatives;  // streams the residual reads; u.d(s) of any other s is an error
  bool pde = false;                      // the collocation term: RBA, resampling and the SNR diagnostics act on it
  double weight = 1;
  Index count = 0;                       // points to draw; 0: points.collocation (pde) or points.boundary
  Box box;                               // where to draw a Latin hypercube; empty: the problem's domain
  RowMat<double> points;                 // fixed points (rows x inputs) instead of drawing
  std::function<RowMat<double>(Index n, Rng& rng)> sampler;     // or your own sampler (n x inputs)
  std::function<RowMat<double>(const RowMat<double>& x)> data;  // per-point data (rows of x) for the residual
  BothPrecisions<Residual> residual;     // set by ProblemSpec::add_term
};

class ProblemSpec {
 public:
  std::string name = "user", description;
  std::vector<std::string> inputs, outputs;
  std::vector<std::string> laplacian_inputs;  // inputs a "lap" stream sums over (e.g. x, y but not t)
  Box domain;  // lo, hi per input; may stay empty when every term has its points, sampler or box
  Json defaults = Json::object();  // this problem's changes to the common defaults, e.g. {"net": {"width": 32}}
  std::function<Reference(const Json& cfg)> reference;  // optional: the solution Model::relative_l2 compares with

  // Adds a loss term; `residual` maps the output jet at the term's points to a plain (points x k) residual.
  template <class F>
  TermSpec& add_term(TermSpec term, const F& residual) {
    term.residual.set(residual);
    m_terms.push_back(std::move(term));
    return m_terms.back();
  }
  // Hard boundary conditions: out = factor(x) * N(x) (+ offset(x)); factor and offset are jet expressions of x.
  template <class F>
  void set_hard_bc(const F& factor) {
    m_factor.set(factor);
  }
  template <class F, class G>
  void set_hard_bc(const F& factor, const G& offset) {
    m_factor.set(factor);
    m_offset.set(offset);
  }
  // The exact solution of output 0 of a 2-D problem, as the reference on an n x n grid over the domain.
  void set_exact(std::function<double(double, double)> u, int n = 101);

  const std::vector<TermSpec>& terms() const { return m_terms; }
  const BothPrecisions<Transform>& hard_bc_factor() const { return m_factor; }
  const BothPrecisions<Transform>& hard_bc_offset() const { return m_offset; }
  // The problem as Model and the registry take it; throws naming what is missing or inconsistent.
  ProblemInfo info() const;

 private:
  std::vector<TermSpec> m_terms;
  BothPrecisions<Transform> m_factor, m_offset;
  std::function<double(double, double)> m_exact;
  int m_exact_n = 0;
};

}  // namespace jetpinn
