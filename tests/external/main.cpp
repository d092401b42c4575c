// The smallest outside user of an installed jetpinn: a 1-D Poisson problem -u'' = pi^2 sin(pi x), u(0) = u(1) = 0,
// trained for 200 Adam and 100 L-BFGS steps; exits 1 unless the error against sin(pi x) fell below 1% of its start.
#include <cmath>
#include <cstdio>
#include <jetpinn/jetpinn.h>

int main() {
  jetpinn::ProblemSpec s;
  s.name = "external";
  s.inputs = {"x"};
  s.outputs = {"u"};
  s.domain = jetpinn::Box{{0}, {1}};
  jetpinn::TermSpec r("residual", {"xx"}, /*pde=*/true);
  r.count = 128;
  r.data = [](const jetpinn::RowMat<double>& x) { return jetpinn::RowMat<double>((M_PI * x.array()).sin() * M_PI * M_PI); };
  s.add_term(r, [](auto u, auto& tape, const auto& t) { return u.d("xx") + tape.constant(t.data); });
  s.set_hard_bc([](auto x) { return x * (1.0 - x); });
  jetpinn::Model<> m(s.info(), {{"net", {{"depth", 2}, {"width", 16}}}, {"optim", {{"lbfgs_from", 200}}},
                           {"train", {{"iters", 300}}}});
  jetpinn::RowMat<double> x(5, 1);
  x << 0.1, 0.3, 0.5, 0.7, 0.9;
  auto error = [&] { return ((m.evaluate(x, {"u"}).array() - (M_PI * x.array()).sin()).abs()).maxCoeff(); };
  const double before = error();
  m.train();
  const double after = error();
  std::printf("external: max error %.2e -> %.2e after %ld steps (CUDA backend %s)\n", before, after, m.steps_done(),
              jetpinn::cuda_backend_built() ? "built" : "not built");
  return after < 1e-2 * before ? 0 : 1;
}
