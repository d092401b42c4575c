// Helmholtz on [-1, 1]^2: u_xx + u_yy + k^2 u = q with u = 0 on the boundary and q chosen so that
// u = sin(a1 pi x) sin(a2 pi y) (then q = (k^2 - pi^2 (a1^2 + a2^2)) u). Streams: u, u_x, u_y, lap (4, not 5).
// Boundary: soft (points.boundary points split evenly over the four sides) or hard, (x^2 - 1)(y^2 - 1) N(x, y).
// Reference: the analytic solution on a 256 x 256 grid, axes [x, y].
#include <cmath>

#include "builtin_problems.h"

namespace jetpinn {

namespace {

struct HelmholtzParams {
  double a1, a2, k;
  explicit HelmholtzParams(const Json& cfg)
      : a1(cfg.at("pde").at("a1")), a2(cfg.at("pde").at("a2")), k(cfg.at("pde").at("k")) {}
  double exact(double x, double y) const { return std::sin(a1 * M_PI * x) * std::sin(a2 * M_PI * y); }
  double source(double x, double y) const { return (k * k - M_PI * M_PI * (a1 * a1 + a2 * a2)) * exact(x, y); }
};

const Box DOMAIN{{-1, -1}, {1, 1}};

template <class T>
class Helmholtz : public Problem<T> {
 public:
  explicit Helmholtz(const Json& cfg) : m_p(cfg), m_hard(cfg.at("net").at("hard_bc")) {}

  std::vector<Term<T>> terms(const Json& cfg) const override {
    std::vector<Term<T>> out;
    Term<T> r;
    r.name = "residual";
    r.is_pde = true;
    r.count = cfg.at("points").at("collocation");
    r.streams = StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});
    r.sample = [p = m_p](Term<T>& t, Rng& rng) {
      RowMat<double> pts = latin_hypercube(DOMAIN, t.count, rng);
      t.points = pts.cast<T>();
      t.data.resize(t.count, 1);
      for (Index i = 0; i < t.count; ++i) t.data(i, 0) = T(p.source(pts(i, 0), pts(i, 1)));
    };
    const double k2 = m_p.k * m_p.k;
    r.residual = [k2](Var<T> u, Tape<T>& tape, const Term<T>& t) {
      return u.d("lap") + k2 * u.d("") - tape.constant(t.data);
    };
    out.push_back(r);
    if (!m_hard) {
      Term<T> b;
      b.name = "bc";
      b.count = cfg.at("points").at("boundary");
      b.weight = cfg.at("loss").at("weights").at("bc");
      b.streams = StreamSet::value_only();
      b.sample = [](Term<T>& t, Rng& rng) {
        RowMat<double> pts(t.count, 2);
        for (Index i = 0; i < t.count; ++i) {  // sides in turn: x = -1, x = 1, y = -1, y = 1
          const int side = static_cast<int>(i % 4);
          const double s = rng.uniform(-1, 1), v = side % 2 ? 1.0 : -1.0;
          pts.row(i) << (side < 2 ? v : s), (side < 2 ? s : v);
        }
        t.points = pts.cast<T>();
      };
      b.residual = [](Var<T> u, Tape<T>&, const Term<T>&) { return u.d(""); };
      if (b.count > 0) out.push_back(b);
    }
    return out;
  }

  void configure_network(Mlp<T>& net, const Json&) const override {
    if (!m_hard) return;
    net.set_output_transform(
        [](Var<T> x) {
          Var<T> a = x.col(0), b = x.col(1);
          return (a * a - 1.0) * (b * b - 1.0);
        },
        nullptr);
  }

 private:
  HelmholtzParams m_p;
  bool m_hard;
};

Reference helmholtz_reference(const Json& cfg) {
  HelmholtzParams p(cfg);
  Reference ref = grid_reference({"x", "y"}, linspace(-1, 1, 256), linspace(-1, 1, 256));
  std::vector<double> u(static_cast<std::size_t>(ref.points.rows()));
  for (Index i = 0; i < ref.points.rows(); ++i) u[static_cast<std::size_t>(i)] = p.exact(ref.points(i, 0), ref.points(i, 1));
  ref.add_field("u", std::move(u));
  ref.metric = "u";
  return ref;
}

}  // namespace

ProblemInfo make_helmholtz_info() {
  ProblemInfo info;
  info.name = "helmholtz";
  info.description = "u_xx + u_yy + k^2 u = q on [-1,1]^2, u = 0 on the boundary, u = sin(a1 pi x) sin(a2 pi y)";
  info.inputs = {"x", "y"};
  info.outputs = {"u"};
  info.laplacian_inputs = {"x", "y"};
  info.domain = DOMAIN;
  info.pde = {{"a1", 1.0}, {"a2", 4.0}, {"k", 1.0}};
  info.pde_help = {{"a1", "wave number of the solution in x: u = sin(a1 pi x) sin(a2 pi y)"},
                   {"a2", "wave number of the solution in y"},
                   {"k", "the Helmholtz coefficient k in u_xx + u_yy + k^2 u = q"}};
  info.overrides = {{"loss", {{"weights", {{"bc", 1.0}}}}}};
  info.presets["paper"] = {{"pde", {{"a1", 6.0}, {"a2", 6.0}, {"k", 1.0}}},
                           {"points", {{"collocation", 25600}, {"boundary", 400}}},
                           {"net", {{"depth", 6}, {"width", 128}}},
                           {"train", {{"iters", 300000}, {"eval_every", 1000}, {"log_every", 1000}}}};
  info.presets["rba"] = {{"pde", {{"a1", 1.0}, {"a2", 4.0}, {"k", 1.0}}},
                         {"points", {{"collocation", 25600}, {"boundary", 400}}},
                         {"loss", {{"rba", {{"enabled", true}}}}},
                         {"train", {{"iters", 300000}, {"eval_every", 1000}, {"log_every", 1000}}}};
  // The training-dynamics run of the README (fitting, diffusion, total diffusion within 15 minutes on 2 cores):
  // soft boundary, 4 x 64, 8,192 points, RBA (vanilla: --set loss.rba.enabled=false).
  info.presets["dynamics"] = {{"pde", {{"a1", 1.0}, {"a2", 4.0}, {"k", 1.0}}},
                              {"net", {{"depth", 4}, {"width", 64}}},
                              {"points", {{"collocation", 8192}, {"boundary", 400}}},
                              {"loss", {{"rba", {{"enabled", true}}}}},
                              {"diagnostics", {{"compression_every", 500}, {"snapshots", Json::array({100, 1000, 3000})}}},
                              {"train", {{"iters", 100000}, {"max_seconds", 900.0}, {"eval_every", 200}, {"log_every", 100}}}};
  info.presets["quick"] = {{"pde", {{"a1", 1.0}, {"a2", 4.0}, {"k", 1.0}}},
                           {"net", {{"depth", 4}, {"width", 32}, {"hard_bc", true}}},
                           {"points", {{"collocation", 2048}, {"boundary", 256}}},
                           {"loss", {{"rba", {{"enabled", true}}}}},
                           {"optim", {{"schedule", {{"kind", "step"}, {"gamma", 0.9}, {"every", 1000}}}}},
                           {"train", {{"iters", 10000}, {"eval_every", 500}, {"log_every", 100}}}};
  // accurate: a small tanh net in float64, Adam for 1,000 steps, then the self-scaled Broyden method (dense inverse
  // Hessian, Urban, Stefanou & Pons 2025) on the RBA-weighted loss with the multipliers frozen; measured in
  // bench/RESULTS.md ("Accurate presets"). train.max_seconds caps the wall time.
  info.presets["accurate"] = {{"pde", {{"a1", 1.0}, {"a2", 4.0}, {"k", 1.0}}},
                              {"net", {{"depth", 3}, {"width", 20}, {"hard_bc", true}}},
                              {"points", {{"collocation", 2048}, {"boundary", 256}}},
                              {"loss", {{"rba", {{"enabled", true}}}}},
                              {"optim", {{"lbfgs_from", 1000}, {"quasi_newton", "ssbroyden"}}},
                              {"train", {{"iters", 30000}, {"max_seconds", 600.0}, {"precision", "f64"}, {"eval_every", 500},
                                         {"log_every", 100}}}};
  info.reference = helmholtz_reference;
  return with_factories<Helmholtz>(std::move(info));
}

}  // namespace jetpinn
