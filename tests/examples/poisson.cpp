// A user's own PDE on the jetpinn interface: Poisson in 2D with a manufactured solution,
//   -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on [0, 1]^2, u = 0 on the boundary, u = sin(pi x) sin(pi y),
// with a hard boundary condition x(1 - x) y(1 - y) N(x, y). Registering it and calling driver_main() gives
// the whole jetpinn driver for it: `jetpinn_poisson train poisson --preset quick`.
#include <cmath>

#include "driver.h"
#include "problem.h"

using namespace jetpinn;

template <class T>
class Poisson : public Problem<T> {
 public:
  explicit Poisson(const Json&) {}
  std::vector<Term<T>> terms(const Json& cfg) const override {
    Term<T> r;
    r.name = "residual";
    r.is_pde = true;
    r.count = cfg.at("points").at("collocation");
    r.streams = StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});
    r.sample = [](Term<T>& t, Rng& rng) {
      RowMat<double> p = latin_hypercube(Box{{0, 0}, {1, 1}}, t.count, rng);
      t.points = cast_points<T>(p);
      t.data = (2 * M_PI * M_PI * (M_PI * p.col(0)).array().sin() * (M_PI * p.col(1)).array().sin()).matrix().template cast<T>();
    };
    r.residual = [](Var<T> u, Tape<T>& tape, const Term<T>& t) { return u.d("lap") + tape.constant(t.data); };
    return {r};
  }
  void configure_network(Mlp<T>& net, const Json&) const override {
    net.set_output_transform([](Var<T> x) { return x.col(0) * (1.0 - x.col(0)) * x.col(1) * (1.0 - x.col(1)); }, nullptr);
  }
};

Reference poisson_reference(const Json&) {
  Reference ref = grid_reference({"x", "y"}, linspace(0, 1, 101), linspace(0, 1, 101));
  std::vector<double> u;
  for (Index i = 0; i < ref.points.rows(); ++i) u.push_back(std::sin(M_PI * ref.points(i, 0)) * std::sin(M_PI * ref.points(i, 1)));
  ref.add_field("u", u);
  ref.metric = "u";
  return ref;
}

int main(int argc, char** argv) {
  ProblemInfo info;
  info.name = "poisson";
  info.description = "-lap u = 2 pi^2 sin(pi x) sin(pi y) on [0,1]^2, u = 0 on the boundary (hard)";
  info.inputs = {"x", "y"};
  info.outputs = {"u"};
  info.laplacian_inputs = {"x", "y"};
  info.domain = Box{{0, 0}, {1, 1}};
  info.presets["quick"] = {{"net", {{"depth", 3}, {"width", 32}}},
                           {"points", {{"collocation", 1024}}},
                           {"optim", {{"schedule", {{"kind", "exp"}, {"gamma", 0.5}, {"every", 1000}}}}},
                           {"train", {{"iters", 3000}, {"eval_every", 500}}}};
  info.reference = poisson_reference;
  register_problem<Poisson>(std::move(info));
  return driver_main(argc, argv);
}
