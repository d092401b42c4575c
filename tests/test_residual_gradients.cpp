// Parameter gradients from Tape::backward against central finite differences of the loss (float64):
// residual losses of Allen-Cahn (u_t, u_xx), Helmholtz (collapsed lap) and steady Navier-Stokes in
// stream-function form (third derivatives through lap_x, lap_y) on plain, Fourier, modified and hard-BC
// networks; op-level losses that send adjoints through every op and every stream up to third order (the only
// place f'''' of the activations is used); and tape reuse after reset().
#include <doctest/doctest.h>

#include <cstring>

#include "test_problems.h"

using namespace jetpinn;
using jt::Mat;
using jt::Net;

namespace {

using V = Var<double>;

// Finite differences in one parameter theta: the 4th-order stencil with h = 1e-3 (fd_scalar).
// Truncation h^4/30 |d^5 L / d theta^5| ~ 3e-14 |L^(5)|; rounding 1.5 eps |L| / h ~ 3e-13 |L| (|L| is O(1) to
// O(10) here, the residual terms being O(1-100) with mild cancellation). Expected absolute error ~1e-11, so
// rtol = 1e-6 with atol = rtol * (largest |gradient| of that parameter block, floored at 1e-3 of the largest
// sampled gradient) leaves a margin of ~1e3 and still catches any missing or wrong adjoint term.
constexpr double kParamStep = 1e-3;
constexpr double kGradRtol = 1e-6;

struct GradSample {
  std::string param;
  std::vector<Index> idx;
  std::vector<double> analytic, fd;
};

// Backward once, then FD of `loss` in a sample of entries of every parameter block (3 per block, all of a block
// with fewer; biases included). Returns the samples; compares inside.
template <class LossFn>
void check_gradients(const std::string& label, ParamStore<double>& ps, const LossFn& loss, std::uint64_t seed) {
  ps.zero_grad();
  {
    Tape<double> tape(&ps);
    V l = loss(tape);
    tape.backward(l);
  }
  const std::vector<double> grad(ps.grads(), ps.grads() + ps.size());
  auto loss_at = [&](Index i, double v) {
    const double old = ps.values()[i];
    ps.values()[i] = v;
    Tape<double> tape(&ps);
    const double out = loss(tape).value()(0, 0);
    ps.values()[i] = old;
    return out;
  };
  Rng rng(seed);
  std::vector<GradSample> samples;
  double global = 0;
  for (int e = 0; e < ps.count(); ++e) {
    const ParamInfo& p = ps.info(e);
    GradSample s;
    s.param = p.name;
    std::vector<Index> pool(static_cast<std::size_t>(p.size()));
    for (Index k = 0; k < p.size(); ++k) pool[static_cast<std::size_t>(k)] = p.offset + k;
    for (int k = 0; k < 3 && !pool.empty(); ++k) {  // distinct entries
      const std::size_t pick = static_cast<std::size_t>(rng.next() % pool.size());
      s.idx.push_back(pool[pick]);
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    for (Index i : s.idx) {
      const double theta = ps.values()[i];
      s.analytic.push_back(grad[static_cast<std::size_t>(i)]);
      s.fd.push_back(jt::fd_scalar([&](double v) { return loss_at(i, v); }, theta, kParamStep));
      global = std::max(global, std::abs(s.fd.back()));
    }
    samples.push_back(std::move(s));
  }
  CHECK_MESSAGE(global > 0, label << ": every sampled gradient is zero; the check would be vacuous");
  for (const GradSample& s : samples) {
    const Mat a = Eigen::Map<const Mat>(s.analytic.data(), 1, static_cast<Index>(s.analytic.size()));
    const Mat f = Eigen::Map<const Mat>(s.fd.data(), 1, static_cast<Index>(s.fd.size()));
    jt::compare(label + " d/d " + s.param, a, f, jt::scaled(kGradRtol, std::max(jt::max_abs(f), 1e-3 * global)),
                "parameter gradient vs FD (h 1e-3, rtol 1e-6)");
  }
}

template <class P>
void check_problem(Net kind, std::uint64_t seed) {
  Mlp<double> net = jt::make_net<double>(kind, P::spec(), seed);
  const jt::ProblemData d = P::data(seed + 1);
  check_gradients(std::string(P::name) + " " + jt::net_name(kind), net.params(),
                  [&](Tape<double>& t) { return P::loss(t, net, d); }, seed + 2);
}

}  // namespace

TEST_CASE("core: Allen-Cahn residual loss gradients against FD (plain, Fourier, modified, hard BC)") {
  for (Net kind : jt::all_nets()) check_problem<jt::AllenCahn>(kind, 101);
  jt::report_tolerance_use("Allen-Cahn gradients");
}

TEST_CASE("core: Helmholtz residual loss gradients through lap against FD (plain, Fourier, modified, hard BC)") {
  for (Net kind : jt::all_nets()) check_problem<jt::Helmholtz>(kind, 201);
  jt::report_tolerance_use("Helmholtz gradients");
}

TEST_CASE("core: Navier-Stokes stream-function residual gradients through lap_x, lap_y against FD") {
  for (Net kind : jt::all_nets()) check_problem<jt::NavierStokes>(kind, 301);
  jt::report_tolerance_use("Navier-Stokes gradients");
}

TEST_CASE("core: Navier-Stokes residual uses the right third derivatives (lap u = lap_y psi, lap v = -lap_x psi)") {
  // Reference residual from a full third-order set: lap u = psi_xxy + psi_yyy, lap v = -(psi_xxx + psi_xyy).
  Mlp<double> net = jt::make_net<double>(Net::Plain, jt::NavierStokes::spec(), 311);
  const jt::ProblemData d = jt::NavierStokes::data(312);
  auto F = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"});
  Tape<double> t(&net.params());
  V out = net.forward(t, t.input(d.interior, F));
  V psi = out.col(0), p = out.col(1);
  V u = psi.d("y"), v = -psi.d("x");
  const double nu = 1.0 / jt::NavierStokes::Re;
  V r1 = u * psi.d("xy") + v * psi.d("yy") + p.d("x") - nu * (psi.d("xxy") + psi.d("yyy"));
  V r2 = u * (-psi.d("xx")) + v * (-psi.d("xy")) + p.d("y") + nu * (psi.d("xxx") + psi.d("xyy"));
  V ref = mean(r1 * r1) + mean(r2 * r2);
  Tape<double> t2(&net.params());
  V loss = jt::NavierStokes::loss(t2, net, d);
  const double a = loss.value()(0, 0), b = ref.value()(0, 0);
  jt::compare("NS loss via lap_x/lap_y vs full set", Mat::Constant(1, 1, a), Mat::Constant(1, 1, b),
              jt::scaled(1e-12, std::abs(b)), "NS residual vs full set (rtol 1e-12)");
  // And the viscous terms matter: dropping them changes the loss by far more than the tolerance.
  V r1i = u * psi.d("xy") + v * psi.d("yy") + p.d("x"), r2i = u * (-psi.d("xx")) + v * (-psi.d("xy")) + p.d("y");
  CHECK(std::abs((mean(r1i * r1i) + mean(r2i * r2i)).value()(0, 0) - b) > 1e-3 * std::abs(b));
  jt::report_tolerance_use("NS residual");
}

TEST_CASE("core: op-level parameter gradients through every op and every stream up to third order") {
  // A 2 -> 3 affine, the op, a 3|k -> 2 affine; loss = sum over streams s of w_s mean(y_s^2) plus a sum of one
  // stream, so adjoints of every stream flow back through the op (and f'''' of activations is exercised).
  struct OpCase {
    std::string name;
    std::function<V(Tape<double>&, V)> op;
    int out_cols;
  };
  const std::vector<OpCase> ops = {
      {"tanh", [](Tape<double>&, V v) { return tanh(v); }, 3},
      {"sin", [](Tape<double>&, V v) { return sin(v); }, 3},
      {"cos", [](Tape<double>&, V v) { return cos(v); }, 3},
      {"exp", [](Tape<double>&, V v) { return exp(0.5 * v); }, 3},
      {"log", [](Tape<double>&, V v) { return log(1.0 + v * v); }, 3},
      {"sigmoid", [](Tape<double>&, V v) { return sigmoid(v); }, 3},
      {"softplus", [](Tape<double>&, V v) { return softplus(v); }, 3},
      {"erf", [](Tape<double>&, V v) { return erf(v); }, 3},
      {"pow3", [](Tape<double>&, V v) { return pow(v, 3); }, 3},
      {"pow-2", [](Tape<double>&, V v) { return pow(2.6 + sin(v), -2); }, 3},
      {"reciprocal", [](Tape<double>&, V v) { return 1.0 / (2.6 + sin(v)); }, 3},
      {"div", [](Tape<double>&, V v) { return tanh(v) / (2.6 + cos(v)); }, 3},
      {"mul", [](Tape<double>&, V v) { return tanh(v) * sin(v); }, 3},
      {"mul(self)", [](Tape<double>&, V v) { return v * v; }, 3},
      {"add/sub/scalars", [](Tape<double>&, V v) { return 2.0 - 0.5 * tanh(v) + sin(v) / 3.0 - (1.0 + v); }, 3},
      {"slice/concat", [](Tape<double>& t, V v) {
         return concat_cols(tanh(t.slice_cols(v, 1, 3)), sin(v.col(0)) * v.col(2)); }, 3},
      {"col", [](Tape<double>&, V v) { return tanh(v.col(1)); }, 1},
      {"linear_const", [](Tape<double>& t, V v) {
         RowMat<double> C(4, 3);
         C << 0.5, -1.25, 2.0, 1.5, 0.25, -0.75, 0.0, 1.0, 0.5, -0.3, 0.6, 0.9;
         return t.linear_const(tanh(v), C); }, 4},
  };
  for (const auto& ss : {StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"}),
                         StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"})}) {
    for (const OpCase& c : ops) {
      ParamStore<double> ps;
      const int w1 = ps.add("W1", 3, 2, false), b1 = ps.add("b1", 1, 3, true);
      const int w2 = ps.add("W2", 2, c.out_cols, false), b2 = ps.add("b2", 1, 2, true);
      Rng rng(401);
      for (Index i = 0; i < ps.size(); ++i) ps.values()[i] = 0.7 * rng.normal();
      Rng prng(402);
      const Mat X = jt::random_points(prng, 5, {{-1.0, 1.0}, {-1.0, 1.0}});
      auto loss = [&](Tape<double>& t) {
        V y = t.affine(c.op(t, t.affine(t.input(X, ss), w1, b1)), w2, b2);
        V l = sum(y.d("xy"));
        for (int s = 0; s < ss->size(); ++s) {
          V ys = t.component(y, s);
          l = l + (1.0 / (1 + s)) * mean(ys * ys);
        }
        return l;
      };
      check_gradients("op " + c.name + " [" + ss->describe() + "]", ps, loss, 403);
    }
  }
  jt::report_tolerance_use("op gradients");
}

TEST_CASE("core: tape reuse after reset gives identical values and gradients without growing") {
  for (Net kind : jt::all_nets()) {
    CAPTURE(jt::net_name(kind));
    Mlp<double> net = jt::make_net<double>(kind, jt::NavierStokes::spec(), 501);
    const jt::ProblemData ns = jt::NavierStokes::data(502);
    Mlp<double> ac = jt::make_net<double>(kind, jt::AllenCahn::spec(), 503);
    const jt::ProblemData acd = jt::AllenCahn::data(504);
    auto& ps = net.params();
    Tape<double> tape(&ps);
    std::vector<double> g1, g2;
    double l1 = 0, l2 = 0;
    int n1 = 0;
    for (int rep = 0; rep < 3; ++rep) {
      tape.reset();
      CHECK(tape.size() == 0);
      ps.zero_grad();
      V l = jt::NavierStokes::loss(tape, net, ns);
      tape.backward(l);
      if (rep == 0) {
        l1 = l.value()(0, 0);
        n1 = tape.size();
        g1.assign(ps.grads(), ps.grads() + ps.size());
      } else {
        l2 = l.value()(0, 0);
        g2.assign(ps.grads(), ps.grads() + ps.size());
        CHECK(tape.size() == n1);
        CHECK(std::memcmp(&l1, &l2, sizeof(double)) == 0);
        CHECK(std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(double)) == 0);
      }
    }
    CHECK(n1 > 10);
    // A fresh tape gives the same bits; a smaller recording on the reused tape (different problem and
    // network), then the first one again, still matches.
    {
      Tape<double> fresh(&ps);
      ps.zero_grad();
      V l = jt::NavierStokes::loss(fresh, net, ns);
      fresh.backward(l);
      l2 = l.value()(0, 0);
      CHECK(std::memcmp(&l1, &l2, sizeof(double)) == 0);
      CHECK(std::memcmp(g1.data(), ps.grads(), g1.size() * sizeof(double)) == 0);
      CHECK(fresh.size() == n1);
    }
    tape.reset();
    tape.set_params(&ac.params());
    ac.params().zero_grad();
    V la = jt::AllenCahn::loss(tape, ac, acd);
    tape.backward(la);
    tape.reset();
    tape.set_params(&ps);
    ps.zero_grad();
    V l = jt::NavierStokes::loss(tape, net, ns);
    tape.backward(l);
    l2 = l.value()(0, 0);
    CHECK(tape.size() == n1);
    CHECK(std::memcmp(&l1, &l2, sizeof(double)) == 0);
    CHECK(std::memcmp(g1.data(), ps.grads(), g1.size() * sizeof(double)) == 0);
    // Gradients accumulate: a second backward without zero_grad doubles them exactly.
    tape.backward(l);
    for (std::size_t i = 0; i < g1.size(); ++i) REQUIRE(ps.grads()[i] == 2 * g1[i]);
  }
}
