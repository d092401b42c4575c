// Burgers: u_t + u u_x - nu u_xx = 0, nu = 0.01/pi, x in [-1, 1], t in [0, 1], u(0, x) = -sin(pi x),
// u(t, +-1) = 0. Streams: u, u_t, u_x, u_xx. Loss: residual + initial + boundary MSE, or with net.hard_bc the
// residual alone: u = -sin(pi x) + t (1 - x^2) N(t, x) meets the initial and boundary conditions exactly.
// Reference: the exact Cole-Hopf solution by Gauss-Hermite quadrature (references/burgers_reference.h) on the
// classic 100 x 256 grid [t, x] (t = 0..0.99, x = linspace(-1, 1, 256)).
#include <cmath>

#include "builtin_problems.h"
#include "references/reference_cache.h"

namespace jetpinn {

namespace {

const Box DOMAIN{{0, -1}, {1, 1}};  // inputs (t, x)

template <class T>
class Burgers : public Problem<T> {
 public:
  explicit Burgers(const Json& cfg)
      : m_nu(cfg.at("pde").at("nu")), m_front_share(cfg.at("pde").at("front_share")),
        m_front_width(cfg.at("pde").at("front_width")), m_hard(cfg.at("net").at("hard_bc")) {
    JETPINN_CHECK(m_nu > 0, "'pde.nu' (viscosity) must be > 0, got " << m_nu);
    JETPINN_CHECK(m_front_share >= 0 && m_front_share < 1, "'pde.front_share' must be in [0, 1), got " << m_front_share);
    JETPINN_CHECK(m_front_width > 0 && m_front_width <= 1, "'pde.front_width' must be in (0, 1], got " << m_front_width);
  }

  std::vector<Term<T>> terms(const Json& cfg) const override {
    Term<T> r;
    r.name = "residual";
    r.is_pde = true;
    r.count = cfg.at("points").at("collocation");
    r.streams = StreamSet::make({"t", "x"}, {"t", "xx"});
    // A share of the points in the band |x| <= front_width around the front (x = 0), the rest over the domain,
    // mixed so that each contiguous SNR batch holds its share of both.
    r.sample = [share = m_front_share, width = m_front_width](Term<T>& t, Rng& rng) {
      const auto n_front = static_cast<Index>(std::llround(share * static_cast<double>(t.count)));
      if (n_front == 0) {  // no band: one Latin hypercube, unshuffled (the draw and the rng stream as without it)
        t.points = cast_points<T>(latin_hypercube(DOMAIN, t.count, rng));
        return;
      }
      RowMat<double> p(t.count, 2);
      p.topRows(t.count - n_front) = latin_hypercube(DOMAIN, t.count - n_front, rng);
      p.bottomRows(n_front) = latin_hypercube(Box{{0, -width}, {1, width}}, n_front, rng);
      shuffle_rows(p, rng);
      t.points = cast_points<T>(p);
    };
    r.residual = [nu = m_nu](Var<T> u, Tape<T>&, const Term<T>&) {
      return u.d("t") + u.d("") * u.d("x") - nu * u.d("xx");
    };
    Term<T> ic;
    ic.name = "ic";
    ic.count = cfg.at("points").at("initial");
    ic.streams = StreamSet::value_only();
    ic.sample = [](Term<T>& t, Rng&) {
      t.points.resize(t.count, 2);
      t.data.resize(t.count, 1);
      for (Index i = 0; i < t.count; ++i) {
        const double x = -1 + 2.0 * static_cast<double>(i) / static_cast<double>(std::max<Index>(1, t.count - 1));
        t.points.row(i) << T(0), T(x);
        t.data(i, 0) = T(-std::sin(M_PI * x));
      }
    };
    ic.residual = [](Var<T> u, Tape<T>& tape, const Term<T>& t) { return u.d("") - tape.constant(t.data); };
    Term<T> bc;
    bc.name = "bc";
    bc.count = cfg.at("points").at("boundary");
    bc.streams = StreamSet::value_only();
    bc.sample = [](Term<T>& t, Rng& rng) {  // alternate x = -1 and x = 1, t uniform
      t.points.resize(t.count, 2);
      for (Index i = 0; i < t.count; ++i) t.points.row(i) << T(rng.uniform()), T(i % 2 ? 1 : -1);
    };
    bc.residual = [](Var<T> u, Tape<T>&, const Term<T>&) { return u.d(""); };
    std::vector<Term<T>> out{r};
    if (ic.count > 0 && !m_hard) out.push_back(ic);
    if (bc.count > 0 && !m_hard) out.push_back(bc);
    return out;
  }

  void configure_network(Mlp<T>& net, const Json&) const override {
    if (!m_hard) return;
    net.set_output_transform(  // inputs (t, x)
        [](Var<T> in) {
          Var<T> t = in.col(0), x = in.col(1);
          return t * (1.0 - x * x);
        },
        [](Var<T> in) { return -sin(M_PI * in.col(1)); });
  }

 private:
  double m_nu, m_front_share, m_front_width;
  bool m_hard;
};

Reference burgers_reference_grid(const Json& cfg) {
  BurgersParams p;
  p.nu = cfg.at("pde").at("nu");
  const SpaceTimeGrid g = cached_burgers_classic_grid(p);
  Reference ref = grid_reference({"t", "x"}, g.t, g.x);
  ref.add_field("u", g.u);
  ref.metric = "u";
  return ref;
}

}  // namespace

ProblemInfo make_burgers_info() {
  ProblemInfo info;
  info.name = "burgers";
  info.description = "u_t + u u_x - (0.01/pi) u_xx = 0, x in [-1,1], t in [0,1], u(0,x) = -sin(pi x), u(t,+-1) = 0";
  info.inputs = {"t", "x"};
  info.outputs = {"u"};
  info.domain = DOMAIN;
  info.pde = {{"nu", 0.01 / M_PI}, {"front_share", 0.0}, {"front_width", 0.05}};
  info.pde_help = {{"nu", "viscosity (> 0)"},
                   {"front_share", "share of the PDE points drawn in the band |x| <= front_width around the front "
                                   "(x = 0), in [0, 1); the rest cover the domain"},
                   {"front_width", "half-width of that band, in (0, 1]"}};
  info.overrides = {{"loss", {{"weights", {{"ic", 1.0}, {"bc", 1.0}}}}},
                    {"points", {{"collocation", 10000}, {"initial", 256}, {"boundary", 200}}}};
  info.presets["paper"] = {{"net", {{"depth", 6}, {"width", 128}}},
                           {"points", {{"collocation", 25600}, {"initial", 512}, {"boundary", 400}}},
                           {"train", {{"iters", 100000}, {"eval_every", 1000}, {"log_every", 1000}}}};
  // dynamics: the paper preset's plain tanh MLP, soft initial/boundary losses, step budget (100,000) and schedule
  // (lr 1e-3, 0.9 every 5,000) on one core: 4 x 64, 4,096 points. RBA on (vanilla: loss.rba.enabled=false); a
  // fixed step budget, no wall-time cap. docs/paper/README.md.
  info.presets["dynamics"] = {{"net", {{"depth", 4}, {"width", 64}}},
                              {"points", {{"collocation", 4096}, {"initial", 256}, {"boundary", 200}}},
                              {"loss", {{"rba", {{"enabled", true}}}}},
                              {"optim", {{"lr", 1e-3}, {"schedule", {{"kind", "step"}, {"gamma", 0.9}, {"every", 5000}}}}},
                              {"diagnostics", {{"compression_every", 1000}, {"snapshots", Json::array({100, 5000, 25000})}}},
                              {"train", {{"iters", 100000}, {"precision", "f32"}, {"eval_every", 1000}, {"log_every", 100}}}};
  // quick: RBA puts the weight on the front, whose position a plain run leaves off by ~0.01 (one trial: 0.15
  // without RBA and L-BFGS, 0.017 with them); then L-BFGS in float64.
  info.presets["quick"] = {{"net", {{"depth", 4}, {"width", 32}}},
                           {"points", {{"collocation", 4096}, {"initial", 128}, {"boundary", 128}}},
                           {"loss", {{"rba", {{"enabled", true}}}}},
                           {"optim", {{"lbfgs_from", 3000}, {"schedule", {{"kind", "step"}, {"gamma", 0.9}, {"every", 1000}}}}},
                           {"train", {{"iters", 5000}, {"eval_every", 500}, {"log_every", 100}}}};
  // accurate: a small tanh net in float64 with the initial and boundary values built in (net.hard_bc), Adam
  // with RBA for 1,000 steps, then the self-scaled Broyden method (dense inverse Hessian) with the multipliers
  // frozen. The error concentrates at the front (x = 0, t >= 0.3), which uniform random points sample thinly
  // (with 10,000 of them the loss kept falling while the error stayed near 1e-5), so a tenth of the points lie in
  // |x| <= 0.05 (pde.front_share). Measured in bench/RESULTS.md ("Accurate presets"); train.max_seconds caps the
  // wall time.
  info.presets["accurate"] = {{"pde", {{"front_share", 0.1}}},
                              {"net", {{"depth", 3}, {"width", 20}, {"hard_bc", true}}},
                              {"points", {{"collocation", 10000}}},
                              {"loss", {{"rba", {{"enabled", true}}}}},
                              {"optim", {{"lbfgs_from", 1000}, {"quasi_newton", "ssbroyden"}}},
                              {"train", {{"iters", 1000000}, {"max_seconds", 900.0}, {"precision", "f64"}, {"eval_every", 500},
                                         {"log_every", 100}}}};
  info.reference = burgers_reference_grid;
  return with_factories<Burgers>(std::move(info));
}

}  // namespace jetpinn
