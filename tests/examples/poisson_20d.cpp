// Example (d): a high-dimensional problem through the library, with hidden layers of unequal widths.
//   -Lap u = (pi^2 / 4) u on [0, 1]^20, u = g on the boundary; exact u = (1/20) sum_i sin(pi x_i / 2).
// The residual reads one collapsed Laplacian stream (a single forward pass carries the sum of 20 second
// derivatives); the boundary term draws points on random faces of the cube. Network 20 -> 32 -> 24 -> 16 -> 1
// (net.widths), 300 Adam steps then L-BFGS, 1,000 collocation points. Prints the relative L2 error on 2,000 fresh
// interior points and the Laplacian at two points beside its exact value, writes the weights as an .npz (PyTorch
// nn.Linear names and layout) to argv[2] (default poisson_20d.npz), loads them into a second model and checks
// that it predicts the same bits. Exits 1 when the error is above argv[1] (default 2e-2; seed 0 measured 8.1e-3
// in 13 s on one thread: the error is the gap between 1,000 points and the 20-dimensional cube, not the loss)
// or the reloaded model differs.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <jetpinn/jetpinn.h>
#include <string>

using namespace jetpinn;

constexpr int D = 20;

double exact(const RowMat<double>& p, Index i) {
  double s = 0;
  for (int k = 0; k < D; ++k) s += std::sin(0.5 * M_PI * p(i, k));
  return s / D;
}

// Points on the boundary: uniform in the cube, then one coordinate (chosen at random) moved to 0 or 1.
RowMat<double> on_faces(Index n, Rng& rng) {
  RowMat<double> p(n, D);
  for (Index i = 0; i < n; ++i) {
    for (int k = 0; k < D; ++k) p(i, k) = rng.uniform();
    p(i, static_cast<Index>(rng.uniform() * D)) = rng.uniform() < 0.5 ? 0.0 : 1.0;
  }
  return p;
}

RowMat<double> exact_at(const RowMat<double>& p) {
  RowMat<double> u(p.rows(), 1);
  for (Index i = 0; i < p.rows(); ++i) u(i, 0) = exact(p, i);
  return u;
}

ProblemSpec poisson_20d() {
  ProblemSpec pde;
  pde.name = "poisson_20d";
  for (int k = 0; k < D; ++k) pde.inputs.push_back("x" + std::to_string(k));
  pde.outputs = {"u"};
  pde.laplacian_inputs = pde.inputs;
  pde.domain = Box{std::vector<double>(D, 0.0), std::vector<double>(D, 1.0)};

  TermSpec residual("residual", {"lap"}, /*pde=*/true);
  residual.data = [](const RowMat<double>& p) {  // f = (pi^2 / 4) u at each collocation point
    RowMat<double> f = exact_at(p);
    return RowMat<double>(f * (M_PI * M_PI / 4));
  };
  pde.add_term(residual, [](auto u, auto& tape, const auto& term) { return u.d("lap") + tape.constant(term.data); });

  TermSpec boundary("bc", {});
  boundary.sampler = on_faces;
  boundary.data = exact_at;
  pde.add_term(boundary, [](auto u, auto& tape, const auto& term) { return u.d("") - tape.constant(term.data); });
  return pde;
}

int main(int argc, char** argv) {
  const double bound = argc > 1 ? std::atof(argv[1]) : 2e-2;
  const std::string npz = argc > 2 ? argv[2] : "poisson_20d.npz";
  const ProblemInfo info = poisson_20d().info();
  const Json config = {{"net", {{"widths", {32, 24, 16}}}},
                       {"points", {{"collocation", 1000}, {"boundary", 300}}},
                       {"optim", {{"lbfgs_from", 300}}},
                       {"train", {{"iters", 800}, {"log_every", 200}, {"eval_every", 0}}}};
  Model<> model(info, config);
  const TrainResult result = model.train([](const LoggedStep& s) {
    if (s.step % 200 == 0) std::printf("step %5ld  loss %.3e%s\n", s.step, s.loss, s.lbfgs ? "  (L-BFGS)" : "");
    return true;
  });

  Rng rng(12345);  // test points the training never saw
  RowMat<double> test(2000, D);
  for (Index i = 0; i < test.rows(); ++i)
    for (int k = 0; k < D; ++k) test(i, k) = rng.uniform();
  const RowMat<double> u = model.evaluate(test, {"u"}), ref = exact_at(test);
  const double rel_l2 = (u - ref).norm() / ref.norm();
  std::printf("poisson_20d: hidden widths %s, %ld parameters, relative L2 error %.3e after %ld steps in %.1f s "
              "(bound %.1e)\n",
              Json(model.net().config().hidden_widths()).dump().c_str(), static_cast<long>(model.net().params().size()),
              rel_l2, result.steps, result.seconds, bound);

  const RowMat<double> two = test.topRows(2), lap = model.evaluate(two, {"u_lap"});
  for (Index i = 0; i < two.rows(); ++i)
    std::printf("point %ld: lap u %.5f (exact %.5f)\n", static_cast<long>(i), lap(i, 0),
                -M_PI * M_PI / 4 * exact(two, i));

  // The weights by name, out and back in: the reloaded model must predict the very same values.
  model.save_parameters(npz);
  Model<> reloaded(info, config);
  reloaded.load_parameters(npz);
  const bool same = reloaded.evaluate(test, {"u"}) == u;
  std::printf("weights written to %s (%zu tensors); reloaded model predicts %s\n", npz.c_str(),
              model.parameters().size(), same ? "the same values" : "OTHER VALUES");
  return rel_l2 <= bound && same ? 0 : 1;
}
