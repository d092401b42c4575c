// Example (a): a user-defined PDE through the library API, trained and evaluated in one program.
//   -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on [0, 1]^2, u = 0 on the boundary; exact u = sin(pi x) sin(pi y).
// The boundary condition is hard (u = x(1 - x) y(1 - y) N(x, y)), so the residual is the only loss term.
// Adam, then L-BFGS from step 1000. Prints the relative L2 error against the exact solution and u, u_x and
// the Laplacian at two points beside their exact values; exits 1 when the error is above argv[1] (default 1e-3).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <jetpinn/jetpinn.h>

using namespace jetpinn;

double exact(double x, double y) { return std::sin(M_PI * x) * std::sin(M_PI * y); }

int main(int argc, char** argv) {
  const double bound = argc > 1 ? std::atof(argv[1]) : 1e-3;
  ProblemSpec pde;
  pde.name = "poisson";
  pde.inputs = {"x", "y"};
  pde.outputs = {"u"};
  pde.laplacian_inputs = {"x", "y"};
  pde.domain = Box{{0, 0}, {1, 1}};

  TermSpec residual("residual", {"lap"}, /*pde=*/true);
  residual.data = [](const RowMat<double>& p) {  // the source f at each collocation point
    RowMat<double> f(p.rows(), 1);
    for (Index i = 0; i < p.rows(); ++i) f(i, 0) = 2 * M_PI * M_PI * exact(p(i, 0), p(i, 1));
    return f;
  };
  pde.add_term(residual, [](auto u, auto& tape, const auto& term) { return u.d("lap") + tape.constant(term.data); });
  pde.set_hard_bc([](auto x) { return x.col(0) * (1.0 - x.col(0)) * x.col(1) * (1.0 - x.col(1)); });
  pde.set_exact(exact);

  Model<> model(pde.info(), {{"net", {{"depth", 3}, {"width", 32}}},
                             {"points", {{"collocation", 1024}}},
                             {"optim", {{"lbfgs_from", 1000}}},
                             {"train", {{"iters", 1400}, {"log_every", 200}, {"eval_every", 0}}}});
  const TrainResult result = model.train([](const LoggedStep& s) {
    if (s.step % 200 == 0) std::printf("step %5ld  loss %.3e%s\n", s.step, s.loss, s.lbfgs ? "  (L-BFGS)" : "");
    return true;
  });
  std::printf("poisson: relative L2 error %.3e after %ld steps in %.1f s (bound %.1e)\n", result.rel_l2, result.steps,
              result.seconds, bound);

  RowMat<double> points(2, 2);
  points << 0.5, 0.5, 0.25, 0.75;
  const RowMat<double> v = model.evaluate(points, {"u", "u_x", "u_lap"});
  for (Index i = 0; i < points.rows(); ++i) {
    const double x = points(i, 0), y = points(i, 1), u = exact(x, y);
    std::printf("(%.2f, %.2f)  u %.6f (exact %.6f)  u_x %.5f (exact %.5f)  lap u %.4f (exact %.4f)\n", x, y, v(i, 0), u,
                v(i, 1), M_PI * std::cos(M_PI * x) * std::sin(M_PI * y), v(i, 2), -2 * M_PI * M_PI * u);
  }
  return result.rel_l2 <= bound ? 0 : 1;
}
