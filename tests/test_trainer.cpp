// Trainer behaviour beyond the loss: resampling of the PDE term, a non-finite loss stopping before any update,
// and the switch from Adam to L-BFGS.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "samplers.h"
#include "train.h"

using namespace jetpinn;

namespace {
struct Setup {
  Mlp<double> net{[] {
    MlpConfig c;
    c.inputs = 1;
    c.depth = 1;
    c.width = 6;
    return c;
  }(), 5};
  std::vector<Term<double>> terms() const {
    Term<double> r;
    r.name = "residual";
    r.is_pde = true;
    r.count = 16;
    r.streams = StreamSet::make({"x"}, {"xx"});
    r.sample = [](Term<double>& t, Rng& rng) { t.points = latin_hypercube(Box{{-1}, {1}}, t.count, rng); };
    r.residual = [](Var<double> u, Tape<double>&, const Term<double>&) { return u.d("xx") + 1.0; };
    Term<double> b;
    b.name = "bc";
    b.count = 2;
    b.streams = StreamSet::value_only();
    b.sample = [](Term<double>& t, Rng&) {
      t.points.resize(2, 1);
      t.points << -1, 1;
    };
    b.residual = [](Var<double> u, Tape<double>&, const Term<double>&) { return u.d(""); };
    return {r, b};
  }
};
}  // namespace

TEST_CASE("train: the PDE points are redrawn every resample_every steps, the others stay") {
  Setup s;
  TrainOptions opt;
  opt.resample_every = 2;
  Trainer<double> tr(s.net, s.terms(), opt, 9);
  const RowMat<double> p0 = tr.terms()[0].points, b0 = tr.terms()[1].points;
  tr.step();
  tr.step();
  CHECK(tr.terms()[0].points == p0);  // steps 0 and 1 use the first set
  tr.step();                          // step 2 redraws before it evaluates
  CHECK(tr.terms()[0].points != p0);
  CHECK(tr.terms()[1].points == b0);
}

TEST_CASE("train: a non-finite loss is reported and leaves the parameters untouched") {
  Setup s;
  Trainer<double> tr(s.net, s.terms(), TrainOptions{}, 9);
  tr.step();
  s.net.params().values()[0] = std::numeric_limits<double>::infinity();
  const std::vector<double> before(s.net.params().values(), s.net.params().values() + s.net.params().size());
  const StepStats st = tr.step();
  CHECK_FALSE(st.bad.empty());
  CHECK(tr.steps_done() == 1);
  for (Index i = 1; i < s.net.params().size(); ++i) CHECK(s.net.params().values()[i] == before[static_cast<std::size_t>(i)]);
}

TEST_CASE("train: from lbfgs_from on the steps are L-BFGS iterations and the loss keeps falling") {
  Setup s;
  TrainOptions opt;
  opt.lbfgs_from = 5;
  Trainer<double> tr(s.net, s.terms(), opt, 9);
  double adam_loss = 0;
  for (int i = 0; i < 5; ++i) {
    const StepStats st = tr.step();
    CHECK_FALSE(st.lbfgs);
    adam_loss = st.loss;
  }
  double last = adam_loss;
  for (int i = 0; i < 20; ++i) {
    const StepStats st = tr.step();
    CHECK(st.lbfgs);
    CHECK(st.loss <= last);  // a line search never accepts an increase
    last = st.loss;
  }
  CHECK(last < 0.1 * adam_loss);
}
