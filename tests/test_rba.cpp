// RBA multipliers against hand-computed updates, and the trainer's RBA loss against its definition.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "rba.h"
#include "train.h"

using namespace jetpinn;

namespace {
// A value the update cannot hit exactly (1/3, 1/30, 1e-3 are not binary fractions): the rule's result and the
// expression written here each carry at most four roundings of relative u = 2^-53, so they agree to 8u = 4 eps
// relative (scale 0: purely relative, also for values far below 1). Everything else below is checked for equality:
// sums and products of binary fractions (0, 0.5, 1, |r| - min |r| over a power of two) and eta times them.
doctest::Approx ulps(double x) {
  return doctest::Approx(x).scale(0).epsilon(4 * std::numeric_limits<double>::epsilon());
}
}  // namespace

TEST_CASE("train: RBA max variant matches a hand-computed update") {
  RowMat<double> r(3, 1), lambda = RowMat<double>::Zero(3, 1);
  r << 1.0, -3.0, 2.0;  // max |r| = 3
  RbaConfig c;          // eta = 1e-3, gamma = 0.999
  rba_update(c, r, lambda, true);
  CHECK(lambda(0, 0) == ulps(1e-3 / 3));
  CHECK(lambda(1, 0) == ulps(1e-3));  // 1e-3 * (3 * fl(1/3)): two roundings
  CHECK(lambda(2, 0) == ulps(2e-3 / 3));
  r << 4.0, 0.0, -2.0;  // max |r| = 4: lambda <- 0.999 lambda + 1e-3 |r| / 4
  rba_update(c, r, lambda, false);
  CHECK(lambda(0, 0) == ulps(0.999 * 1e-3 / 3 + 1e-3));
  CHECK(lambda(1, 0) == ulps(0.999 * 1e-3));
  CHECK(lambda(2, 0) == ulps(0.999 * 2e-3 / 3 + 0.5e-3));
}

TEST_CASE("train: RBA min-max variant, start from the first residual, and per-column normalisation") {
  RowMat<double> r(3, 2), lambda = RowMat<double>::Zero(3, 2);
  r << 1.0, 10.0, -3.0, 20.0, 2.0, -40.0;
  RbaConfig c;
  c.minmax = true;
  c.eta = 0.1;
  c.gamma = 0.5;
  rba_update(c, r, lambda, false);
  // column 0: (|r| - 1) / (3 - 1) = 0, 1, 0.5 exactly (1 / 2 is a binary fraction), so lambda = 0.1 * those:
  // 0, 0.1 and 0.05 = 0.1 / 2 exactly as doubles. Column 1: (|r| - 10) * fl(1/30) = 0, ~1/3, ~1.
  CHECK(lambda(0, 0) == 0.0);
  CHECK(lambda(1, 0) == 0.1);
  CHECK(lambda(2, 0) == 0.05);
  CHECK(lambda(0, 1) == 0.0);
  CHECK(lambda(1, 1) == ulps(0.1 / 3));
  CHECK(lambda(2, 1) == ulps(0.1));  // 0.1 * (30 * fl(1/30))
  RbaConfig first;
  first.init_from_residual = true;
  RowMat<double> l2 = RowMat<double>::Constant(3, 2, 7.0);
  rba_update(first, r, l2, true);  // the first update sets lambda = |r| / max|r| outright
  CHECK(l2(1, 0) == ulps(1.0));     // 3 * fl(1/3)
  CHECK(l2(0, 1) == ulps(0.25));    // 10 * fl(1/40)
  CHECK(l2(2, 1) == ulps(1.0));     // 40 * fl(1/40)
  rba_update(first, r, l2, false);  // later updates are the usual recurrence
  CHECK(l2(1, 0) == ulps(0.999 + 1e-3));
}

TEST_CASE("train: the RBA loss is mean((lambda r)^2) with lambda updated from this step's residuals") {
  MlpConfig mc;
  mc.inputs = 1;
  mc.depth = 1;
  mc.width = 4;
  Mlp<double> net(mc, 3);
  Term<double> t;
  t.name = "residual";
  t.is_pde = true;
  t.count = 5;
  t.streams = StreamSet::make({"x"}, {"x"});
  t.sample = [](Term<double>& term, Rng&) {
    term.points.resize(term.count, 1);
    for (Index i = 0; i < term.count; ++i) term.points(i, 0) = 0.2 * static_cast<double>(i) - 0.4;
  };
  t.residual = [](Var<double> u, Tape<double>&, const Term<double>&) { return u.d("x") - 1.0; };
  TrainOptions opt;
  opt.rba.enabled = true;
  opt.rba.eta = 0.5;
  opt.rba.gamma = 0.9;
  Trainer<double> trainer(net, {t}, opt, 1);
  // Residuals before the step, computed independently of the trainer.
  Tape<double> tape(&net.params());
  Var<double> u = net.forward(tape, tape.input(trainer.terms()[0].points, trainer.terms()[0].streams));
  RowMat<double> r = (u.d("x") - 1.0).value().mat();
  const double rmax = r.cwiseAbs().maxCoeff();
  double expected = 0;
  for (Index i = 0; i < r.rows(); ++i) {
    const double lambda = 0.5 * std::abs(r(i, 0)) / rmax;
    expected += lambda * lambda * r(i, 0) * r(i, 0) / static_cast<double>(r.rows());
  }
  const StepStats s = trainer.step();
  CHECK(s.loss == doctest::Approx(expected).epsilon(1e-14));
  CHECK(s.term_mse[0] == doctest::Approx(r.squaredNorm() / 5).epsilon(1e-14));
  CHECK(trainer.lambda(0)(0, 0) == doctest::Approx(0.5 * std::abs(r(0, 0)) / rmax).epsilon(1e-14));
}
