// Optimizers and schedules: Adam against the formulas (re-derived here in closed form) and against
// torch.optim.Adam, the Adam SNR diagnostic, learning-rate schedules at their boundaries, and L-BFGS on a
// convex quadratic (strong Wolfe re-checked at every accepted step), 2-D and 10-D Rosenbrock, overflowing
// trials, and checkpoint save/restore continuing bit for bit.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adam.h"
#include "lbfgs.h"
#include "rng.h"
#include "optim_problems.h"
#include "schedule.h"

using jetpinn::Adam;
using jetpinn::AdamConfig;
using jetpinn::Lbfgs;
using jetpinn::LbfgsConfig;
using jetpinn::LbfgsState;
using jetpinn::LbfgsStatus;
using jetpinn::LrKind;
using jetpinn::LrSchedule;

using optim_test::rosenbrock;
using optim_test::same_bits;

namespace {

// Runs fn, expecting a jetpinn::Error whose message contains `part`.
void check_throws_containing(const std::function<void()>& fn, const std::string& part) {
  bool thrown = false;
  try {
    fn();
  } catch (const jetpinn::Error& e) {
    thrown = true;
    const std::string msg = e.what();
    CHECK_MESSAGE(msg.find(part) != std::string::npos, "message '" << msg << "' lacks '" << part << "'");
  }
  CHECK_MESSAGE(thrown, "expected a jetpinn::Error mentioning '" << part << "'");
}



struct RunSummary {
  long iterations = 0;
  int evals = 0, wolfe_failures = 0;
  LbfgsStatus last;
};

// Iterates until done() or max_iter; counts evaluations and line searches that missed strong Wolfe.
template <class T>
RunSummary run_lbfgs(Lbfgs<T>& opt, const typename Lbfgs<T>::Objective& fn, T* x, int max_iter) {
  RunSummary r;
  for (int k = 0; k < max_iter; ++k) {
    r.last = opt.iterate(fn, x);
    r.evals += r.last.evals;
    r.wolfe_failures += r.last.line_search_failed;
    if (r.last.done()) break;
  }
  r.iterations = r.last.iteration;
  return r;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ schedules

TEST_CASE("optim: step decay changes exactly at multiples of the period") {
  const LrSchedule s = LrSchedule::paper();
  s.validate();
  CHECK(s.lr(0) == 1e-3);
  CHECK(s.lr(4999) == 1e-3);
  CHECK(s.lr(5000) == 1e-3 * 0.9);
  CHECK(s.lr(5001) == 1e-3 * 0.9);
  CHECK(s.lr(9999) == 1e-3 * 0.9);
  CHECK(s.lr(10000) == 1e-3 * std::pow(0.9, 2.0));
  CHECK(s.lr(123456) == 1e-3 * std::pow(0.9, 24.0));
  CHECK(s.describe() == "step: 0.001 * 0.9^floor(step / 5000)");
}

TEST_CASE("optim: exponential decay is continuous and meets step decay at period boundaries") {
  LrSchedule s{LrKind::Exp, 1e-3, 0.9, 5000, 0};
  s.validate();
  CHECK(s.lr(0) == 1e-3);
  CHECK(s.lr(5000) == doctest::Approx(1e-3 * 0.9).epsilon(1e-15));
  CHECK(s.lr(2500) == doctest::Approx(1e-3 * std::sqrt(0.9)).epsilon(1e-14));
  CHECK(s.lr(15000) == doctest::Approx(LrSchedule::paper().lr(15000)).epsilon(1e-14));
  for (long k = 1; k < 20000; k += 997) {
    CHECK(s.lr(k) < s.lr(k - 1));
    CHECK(s.lr(k) / s.lr(k - 1) == doctest::Approx(std::pow(0.9, 1.0 / 5000)).epsilon(1e-13));
  }
  CHECK(s.describe() == "exp: 0.001 * 0.9^(step / 5000)");
  const LrSchedule c{LrKind::Constant, 3e-4, 0.9, 5000, 0};
  CHECK(c.lr(0) == 3e-4);
  CHECK(c.lr(1000000) == 3e-4);
  CHECK(c.describe() == "constant: 0.0003");
}

TEST_CASE("optim: linear warm-up ramps as min(1, (step + 1) / warmup) on top of the decay") {
  LrSchedule s = LrSchedule::paper();
  s.warmup = 100;
  s.validate();
  CHECK(s.lr(0) == doctest::Approx(1e-3 / 100).epsilon(1e-15));
  CHECK(s.lr(49) == doctest::Approx(1e-3 * 0.5).epsilon(1e-15));
  CHECK(s.lr(98) == doctest::Approx(1e-3 * 0.99).epsilon(1e-15));
  CHECK(s.lr(99) == 1e-3);
  CHECK(s.lr(100) == 1e-3);
  CHECK(s.lr(5000) == 1e-3 * 0.9);
  CHECK(s.describe() == "step: 0.001 * 0.9^floor(step / 5000), linear warm-up over 100 steps");
  // Warm-up longer than a decay period multiplies the decayed rate.
  s.warmup = 10000;
  CHECK(s.lr(7499) == doctest::Approx(1e-3 * 0.9 * 0.75).epsilon(1e-15));
}

TEST_CASE("optim: schedule kinds parse by name and bad schedules throw") {
  CHECK(jetpinn::parse_lr_kind("constant") == LrKind::Constant);
  CHECK(jetpinn::parse_lr_kind("step") == LrKind::Step);
  CHECK(jetpinn::parse_lr_kind("exp") == LrKind::Exp);
  check_throws_containing([] { jetpinn::parse_lr_kind("cosine"); }, "choose constant, step or exp");
  check_throws_containing([] { LrSchedule{LrKind::Step, -1e-3, 0.9, 5000, 0}.validate(); }, "lr0");
  check_throws_containing([] { LrSchedule{LrKind::Step, std::nan(""), 0.9, 5000, 0}.validate(); }, "lr0");
  check_throws_containing([] { LrSchedule{LrKind::Step, 1e-3, 0.0, 5000, 0}.validate(); }, "gamma");
  check_throws_containing([] { LrSchedule{LrKind::Exp, 1e-3, -0.5, 5000, 0}.validate(); }, "gamma");
  check_throws_containing([] { LrSchedule{LrKind::Exp, 1e-3, std::nan(""), 5000, 0}.validate(); }, "gamma");
  check_throws_containing([] { LrSchedule{LrKind::Step, 1e-3, 0.9, 0, 0}.validate(); }, "every");
  check_throws_containing([] { LrSchedule{LrKind::Step, 1e-3, 0.9, 5000, -1}.validate(); }, "warm-up");
  check_throws_containing([] { LrSchedule::paper().lr(-1); }, "steps count from 0");
}

// ----------------------------------------------------------------------------------------------------- Adam

TEST_CASE("optim: Adam's first two steps match the closed-form moments") {
  // Written independently of adam.cpp: after steps with g1, g2 the moments are
  //   m1 = (1-b1) g1, v1 = (1-b2) g1^2;  m2 = (1-b1)(b1 g1 + g2), v2 = (1-b2)(b2 g1^2 + g2^2).
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const std::vector<double> p0 = {0.5, -1.25, 2.0}, g1 = {0.1, -0.2, 0.3}, g2 = {-0.4, 0.05, 0.25};
  std::vector<double> p1(3), p2(3);
  for (int i = 0; i < 3; ++i) {
    const double m1 = (1 - b1) * g1[i], v1 = (1 - b2) * g1[i] * g1[i];
    p1[i] = p0[i] - lr * (m1 / (1 - b1)) / (std::sqrt(v1 / (1 - b2)) + eps);
    const double m2 = (1 - b1) * (b1 * g1[i] + g2[i]), v2 = (1 - b2) * (b2 * g1[i] * g1[i] + g2[i] * g2[i]);
    p2[i] = p1[i] - lr * (m2 / (1 - b1 * b1)) / (std::sqrt(v2 / (1 - b2 * b2)) + eps);
  }
  // By hand, step 1 is p0 - lr g / (|g| + eps): 0.5 - 0.01 * 0.1 / (0.1 + 1e-8) = 0.49000000099999990...
  CHECK(p1[0] == doctest::Approx(0.5 - 0.01 * 0.1 / (0.1 + 1e-8)).epsilon(1e-15));

  Adam<double> adam(3, AdamConfig{lr, b1, b2, eps});
  std::vector<double> p = p0;
  adam.step(p.data(), g1.data());
  CHECK(adam.t() == 1);
  for (int i = 0; i < 3; ++i) {
    CHECK(adam.m()[i] == doctest::Approx((1 - b1) * g1[i]).epsilon(1e-15));
    CHECK(adam.v()[i] == doctest::Approx((1 - b2) * g1[i] * g1[i]).epsilon(1e-15));
    // Compare the update itself (p - p0 ~ 1e-2), not just p, so the tolerance is relative to what moved.
    CHECK(p[i] - p0[i] == doctest::Approx(p1[i] - p0[i]).epsilon(1e-12));
  }
  const std::vector<double> q1 = p;
  adam.step(p.data(), g2.data(), lr);
  CHECK(adam.t() == 2);
  for (int i = 0; i < 3; ++i) CHECK(p[i] - q1[i] == doctest::Approx(p2[i] - p1[i]).epsilon(1e-12));
}

TEST_CASE("optim: Adam matches torch.optim.Adam in float64 and float32") {
  // Produced by torch 2.15.0 (CPU), torch.optim.Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8, foreach=False)
  // from p = [0.5, -1.25, 2.0] with the three gradients below, printed with %.17g after each step.
  const std::vector<std::vector<double>> grads = {{0.1, -0.2, 0.3}, {-0.4, 0.05, 0.25}, {0.0, 1e-3, -2.0}};
  const std::vector<std::vector<double>> torch64 = {
      {0.49000000099999991, -1.2400000005, 1.9900000003333334},
      {0.49559503574851282, -1.2353053191100447, 1.9800882719464279},
      {0.49992001379189049, -1.2317073763691457, 1.9848910306847487}};
  const std::vector<std::vector<double>> torch32 = {
      {0.49000000953674316, -1.2400000095367432, 1.9900000095367432},
      {0.49559503793716431, -1.2353053092956543, 1.9800882339477539},
      {0.49992001056671143, -1.2317073345184326, 1.9848909378051758}};
  Adam<double> a64(3, AdamConfig{0.01});
  Adam<float> a32(3, AdamConfig{0.01});
  std::vector<double> p64 = {0.5, -1.25, 2.0};
  std::vector<float> p32 = {0.5f, -1.25f, 2.0f};
  for (std::size_t k = 0; k < grads.size(); ++k) {
    const std::vector<float> g32(grads[k].begin(), grads[k].end());
    a64.step(p64.data(), grads[k].data());
    a32.step(p32.data(), g32.data());
    for (std::size_t i = 0; i < 3; ++i) {
      // torch forms m by lerp and divides sqrt(v) by sqrt(1 - b2^t): same maths, different last bits.
      CHECK(p64[i] == doctest::Approx(torch64[k][i]).epsilon(1e-15));
      // float32: torch rounds every intermediate to float, we round only the stored moments and the result.
      CHECK(std::abs(static_cast<double>(p32[i]) - torch32[k][i]) <= 2.5e-7);
    }
  }
}

TEST_CASE("optim: Adam state restores bit for bit and rejects wrong sizes") {
  jetpinn::Rng rng(7);
  const int n = 17, steps = 12;
  std::vector<std::vector<double>> grads(steps, std::vector<double>(n));
  for (auto& g : grads)
    for (double& v : g) v = rng.normal();
  std::vector<double> pa(n, 0.25), pb(n, 0.25);
  Adam<double> a(n), b(n);
  for (int k = 0; k < steps; ++k) a.step(pa.data(), grads[k].data(), 1e-3 * (k + 1));
  for (int k = 0; k < steps / 2; ++k) b.step(pb.data(), grads[k].data(), 1e-3 * (k + 1));
  Adam<double> c(n);
  c.set_state(b.t(), b.m(), b.v());
  for (int k = steps / 2; k < steps; ++k) c.step(pb.data(), grads[k].data(), 1e-3 * (k + 1));
  CHECK(c.t() == steps);
  CHECK(same_bits(pa, pb));
  CHECK(same_bits(a.m(), c.m()));
  CHECK(same_bits(a.v(), c.v()));

  check_throws_containing([&] { c.set_state(3, std::vector<double>(n - 1), std::vector<double>(n)); }, "expected 17");
  check_throws_containing([&] { c.set_state(-1, std::vector<double>(n), std::vector<double>(n)); }, "step count");
  jetpinn::ParamStore<double> store;
  store.add("w", 2, 3, false);
  check_throws_containing([&] { c.step(store, 1e-3); }, "built for 17 parameters");
  check_throws_containing([&] { c.step(pa.data(), grads[0].data(), -1e-3); }, "lr must be finite");
  c.reset();
  CHECK(c.t() == 0);
  CHECK(c.snr() == 0.0);
}

TEST_CASE("optim: Adam SNR of alternating gradients is 1/19 and of a constant gradient near 1") {
  // g, then -g: m2 = (1-b1)(b1 - 1) g = -0.01 g, 1 - b1^2 = 0.19, so m_hat = -g / 19; v2 = (1-b2)(b2 + 1) g^2
  // and 1 - b2^2 = (1-b2)(1+b2), so v_hat = g^2 and sqrt(v_hat) = |g|. With eps = 0: SNR = (|g| / 19) / |g|.
  const std::vector<double> g = {1.0, -2.0, 0.5}, neg = {-1.0, 2.0, -0.5};
  std::vector<double> p(3, 0.0);
  Adam<double> no_eps(3, AdamConfig{1e-3, 0.9, 0.999, 0.0});
  CHECK(no_eps.snr() == 0.0);
  no_eps.step(p.data(), g.data());
  CHECK(no_eps.snr() == doctest::Approx(1.0).epsilon(1e-15));
  no_eps.step(p.data(), neg.data());
  CHECK(no_eps.snr() == doctest::Approx(1.0 / 19).epsilon(1e-13));

  // Default eps: the denominator is || |g| + eps ||.
  Adam<double> with_eps(3);
  with_eps.step(p.data(), g.data());
  with_eps.step(p.data(), neg.data());
  const double norm_g = std::sqrt(1.0 + 4.0 + 0.25);
  const double den = std::sqrt(std::pow(1.0 + 1e-8, 2) + std::pow(2.0 + 1e-8, 2) + std::pow(0.5 + 1e-8, 2));
  CHECK(with_eps.snr() == doctest::Approx(norm_g / 19 / den).epsilon(1e-13));

  // The same gradient every step keeps m_hat = g and v_hat = g^2: SNR stays at ~1.
  Adam<float> steady(3, AdamConfig{1e-3, 0.9, 0.999, 0.0});
  const std::vector<float> gf = {1.0f, -2.0f, 0.5f};
  std::vector<float> pf(3, 0.0f);
  for (int k = 0; k < 50; ++k) steady.step(pf.data(), gf.data());
  CHECK(steady.snr() == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("optim: bad optimizer configurations throw") {
  check_throws_containing([] { Adam<double>(3, AdamConfig{-1e-3}); }, "Adam lr");
  check_throws_containing([] { Adam<double>(3, AdamConfig{1e-3, 1.0}); }, "beta1");
  check_throws_containing([] { Adam<double>(3, AdamConfig{1e-3, 0.9, -0.1}); }, "beta2");
  check_throws_containing([] { Adam<double>(3, AdamConfig{1e-3, 0.9, 0.999, -1e-8}); }, "eps");
  auto lbfgs = [](auto edit) {
    LbfgsConfig c;
    edit(c);
    Lbfgs<double> opt(4, c);
  };
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.history = 0; }); }, "history must be >= 1");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.lr = -1; }); }, "lr (first trial step)");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.lr = 0; }); }, "lr (first trial step)");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.c1 = 0.9; }); }, "0 < c1 < c2 < 1");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.c1 = 0.5, c.c2 = 0.4; }); }, "0 < c1 < c2 < 1");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.c2 = 1.0; }); }, "0 < c1 < c2 < 1");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.c1 = 0; }); }, "0 < c1 < c2 < 1");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.max_line_search_evals = 0; }); },
                          "max_line_search_evals");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.tolerance_grad = -1; }); }, "tolerance_grad");
  check_throws_containing([&] { lbfgs([](LbfgsConfig& c) { c.tolerance_change = std::nan(""); }); },
                          "tolerance_change");
}

// --------------------------------------------------------------------------------------------------- L-BFGS

namespace {

struct QuadraticRun {
  int iterations = 0, evals = 0;
  double rel_error = 0;
  bool converged = false;
};

// L-BFGS from 0 on f = 1/2 (x - x*)' A (x - x*), n = 20, A = Q diag(logspace(0, 3)) Q' with a random orthogonal Q
// (condition number 1e3). The minimum value is 0, so f keeps its relative precision near x*. Every accepted step
// is re-evaluated here and checked against the strong Wolfe conditions of `config`.
QuadraticRun run_quadratic(const LbfgsConfig& config) {
  const int n = 20;
  jetpinn::Rng rng(42);
  Eigen::MatrixXd M(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) M(i, j) = rng.normal();
  const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(M).householderQ();
  Eigen::VectorXd lambda(n);
  for (int i = 0; i < n; ++i) lambda(i) = std::pow(10.0, 3.0 * i / (n - 1));
  const Eigen::MatrixXd A = Q * lambda.asDiagonal() * Q.transpose();
  Eigen::VectorXd x_star(n);
  for (int i = 0; i < n; ++i) x_star(i) = rng.normal();
  auto fn = [&](const double* x, double* g) {
    const Eigen::VectorXd e = Eigen::Map<const Eigen::VectorXd>(x, n) - x_star;
    const Eigen::VectorXd Ae = A * e;
    Eigen::Map<Eigen::VectorXd>(g, n) = Ae;
    return 0.5 * e.dot(Ae);
  };

  Lbfgs<double> opt(n, config);
  std::vector<double> x(n, 0.0), g_old(n), g_new(n);
  QuadraticRun run;
  for (int k = 0; k < 200; ++k) {
    const std::vector<double> x_old = x;
    const double f_old = fn(x_old.data(), g_old.data());
    const LbfgsStatus st = opt.iterate(fn, x.data());
    run.evals += st.evals;
    run.iterations = static_cast<int>(st.iteration);
    run.converged = st.converged;
    if (st.step == 0) break;  // converged on entry, or stalled
    // With s = x_new - x_old = t d, strong Wolfe reads f_new <= f_old + c1 g_old's and |g_new's| <= c2 |g_old's|.
    const double f_new = fn(x.data(), g_new.data());
    double gs_old = 0, gs_new = 0;
    for (int i = 0; i < n; ++i) {
      gs_old += g_old[i] * (x[i] - x_old[i]);
      gs_new += g_new[i] * (x[i] - x_old[i]);
    }
    CHECK(st.f == f_new);  // the cached f belongs to the returned x
    CHECK_FALSE(st.line_search_failed);
    CHECK(gs_old < 0);
    // Slack of 1e-12 relative: s is the rounded step, not exactly t d.
    CHECK(f_new <= f_old + config.c1 * gs_old + 1e-12 * std::abs(f_old));
    CHECK(std::abs(gs_new) <= config.c2 * std::abs(gs_old) * (1 + 1e-12));
    if (st.done()) break;
  }
  run.rel_error = (Eigen::Map<const Eigen::VectorXd>(x.data(), n) - x_star).norm() / x_star.norm();
  return run;
}

}  // namespace

TEST_CASE("optim: L-BFGS on a 20-D quadratic (condition 1e3) meets strong Wolfe at every step") {
  // Default c2 = 0.9 (PyTorch's too): the unit step is almost always accepted, so the line search is far from
  // exact and the quadratic-termination property of BFGS does not apply. Observed: 53 iterations, stopped by
  // |f change| < 1e-14 at ~8e-10 relative error (torch.optim.LBFGS on the same kind of problem: 55-62
  // iterations, ~1e-9). With tolerance_change = 0 it continues to ~1e-14.
  const QuadraticRun loose = run_quadratic(LbfgsConfig{});
  MESSAGE("quadratic n = 20, c2 = 0.9: " << loose.iterations << " iterations, " << loose.evals
                                         << " evaluations, relative error " << loose.rel_error);
  CHECK(loose.converged);
  CHECK(loose.iterations <= 3 * 20);
  CHECK(loose.rel_error <= 1e-9);
  LbfgsConfig full;
  full.tolerance_change = 0;
  const QuadraticRun loose_full = run_quadratic(full);
  MESSAGE("quadratic n = 20, c2 = 0.9, tolerance_change 0: " << loose_full.iterations << " iterations, "
                                                             << loose_full.evals << " evaluations, relative error "
                                                             << loose_full.rel_error);
  CHECK(loose_full.converged);
  CHECK(loose_full.iterations <= 4 * 20);
  CHECK(loose_full.rel_error <= 1e-10);

  // c2 = 0.1 forces the zoom, whose cubic interpolation is exact on a quadratic: exact line searches, so the
  // iterates are those of conjugate gradients and finish in about n iterations.
  LbfgsConfig exact;
  exact.c2 = 0.1;
  const QuadraticRun tight = run_quadratic(exact);
  MESSAGE("quadratic n = 20, c2 = 0.1: " << tight.iterations << " iterations, " << tight.evals
                                         << " evaluations, relative error " << tight.rel_error);
  CHECK(tight.converged);
  CHECK(tight.iterations <= 20 + 10);
  CHECK(tight.rel_error <= 1e-10);
}

TEST_CASE("optim: L-BFGS takes 2-D Rosenbrock from (-1.2, 1) to (1, 1)") {
  std::vector<double> x = {-1.2, 1.0};
  Lbfgs<double> opt(2);
  const RunSummary r = run_lbfgs<double>(opt, [](const double* p, double* g) { return rosenbrock(p, g, 2); },
                                         x.data(), 200);
  MESSAGE("Rosenbrock 2-D: " << r.iterations << " iterations, " << r.evals << " evaluations, f " << r.last.f
                             << ", x - 1 = (" << x[0] - 1 << ", " << x[1] - 1 << ")");
  CHECK(r.last.converged);
  CHECK(r.iterations < 100);
  CHECK(r.wolfe_failures == 0);
  CHECK(std::abs(x[0] - 1) <= 1e-8);
  CHECK(std::abs(x[1] - 1) <= 1e-8);
}

TEST_CASE("optim: L-BFGS solves 10-D chained Rosenbrock from (-1.2, 1, -1.2, 1, ...)") {
  const int n = 10;
  std::vector<double> x(n);
  for (int i = 0; i < n; ++i) x[i] = i % 2 ? 1.0 : -1.2;
  Lbfgs<double> opt(n);
  const RunSummary r = run_lbfgs<double>(opt, [](const double* p, double* g) { return rosenbrock(p, g, n); },
                                         x.data(), 300);
  double err = 0;
  for (double v : x) err = std::max(err, std::abs(v - 1));
  MESSAGE("Rosenbrock 10-D: " << r.iterations << " iterations, " << r.evals << " evaluations, f " << r.last.f
                              << ", max |x - 1| " << err);
  CHECK(r.last.converged);
  CHECK(r.iterations < 150);
  CHECK(err <= 1e-8);
}

TEST_CASE("optim: L-BFGS with float parameters converges on a quadratic to float precision") {
  const int n = 8;
  auto fn = [](const float* x, float* g) {
    double f = 0;
    for (int i = 0; i < n; ++i) {
      const double w = 1.0 + i, e = static_cast<double>(x[i]) - 0.5 * i;
      f += 0.5 * w * e * e;
      g[i] = static_cast<float>(w * e);
    }
    return f;
  };
  std::vector<float> x(n, 3.0f);
  LbfgsConfig c;
  c.tolerance_grad = 1e-5;
  Lbfgs<float> opt(n, c);
  const RunSummary r = run_lbfgs<float>(opt, fn, x.data(), 100);
  MESSAGE("float quadratic n = 8: " << r.iterations << " iterations, " << r.evals << " evaluations");
  CHECK(r.last.done());
  for (int i = 0; i < n; ++i) CHECK(x[i] == doctest::Approx(0.5 * i).epsilon(1e-5).scale(1.0));
}

TEST_CASE("optim: L-BFGS line search retreats from trial points where the objective is not finite") {
  // (x - 2)^2, undefined (inf) beyond x = 3. With lr = 10 the first trial lands at x = 10.
  int non_finite = 0;
  auto fn = [&](const double* x, double* g) {
    if (x[0] > 3) {
      ++non_finite;
      g[0] = std::nan("");
      return HUGE_VAL;
    }
    g[0] = 2 * (x[0] - 2);
    return (x[0] - 2) * (x[0] - 2);
  };
  LbfgsConfig c;
  c.lr = 10;
  Lbfgs<double> opt(1, c);
  std::vector<double> x = {0.0};
  const LbfgsStatus first = opt.iterate(fn, x.data());
  CHECK(non_finite >= 1);
  CHECK(std::isfinite(first.f));
  CHECK(first.f < 4.0);
  CHECK(first.step > 0);
  CHECK(x[0] <= 3.0);
  const RunSummary r = run_lbfgs<double>(opt, fn, x.data(), 50);
  CHECK(r.last.converged);
  CHECK(x[0] == doctest::Approx(2.0).epsilon(1e-10));

  // A starting point where the objective itself is not finite is an error, not a silent NaN run.
  Lbfgs<double> fresh(1);
  std::vector<double> bad = {5.0};
  check_throws_containing([&] { fresh.iterate(fn, bad.data()); }, "not finite at the starting point");
}

TEST_CASE("optim: L-BFGS at a minimiser returns converged without moving") {
  Lbfgs<double> opt(2);
  std::vector<double> x = {1.0, 1.0};
  const LbfgsStatus st = opt.iterate([](const double* p, double* g) { return rosenbrock(p, g, 2); }, x.data());
  CHECK(st.converged);
  CHECK(st.evals == 1);
  CHECK(st.step == 0);
  CHECK(st.iteration == 0);
  CHECK(x == std::vector<double>{1.0, 1.0});
  // The cached gradient is reused: a second call evaluates nothing.
  CHECK(opt.iterate([](const double*, double*) -> double { throw std::logic_error("evaluated"); }, x.data())
            .converged);
}

TEST_CASE("optim: L-BFGS state save/restore continues bit for bit") {
  const int n = 10;
  auto fn = [](const double* p, double* g) { return rosenbrock(p, g, n); };
  LbfgsConfig c;
  c.history = 5;  // short, so pairs are evicted before and after the checkpoint
  std::vector<double> start(n);
  for (int i = 0; i < n; ++i) start[i] = i % 2 ? 1.0 : -1.2;

  std::vector<double> xa = start;
  Lbfgs<double> a(n, c);
  int evals_a = 0;
  for (int k = 0; k < 30; ++k) {
    const LbfgsStatus st = a.iterate(fn, xa.data());
    evals_a += st.evals;
    REQUIRE_FALSE(st.done());  // the comparison means nothing if the run stopped early
  }

  std::vector<double> xb = start;
  int evals_b = 0;
  LbfgsState<double> saved;
  {
    Lbfgs<double> b(n, c);
    for (int k = 0; k < 15; ++k) evals_b += b.iterate(fn, xb.data()).evals;
    saved = b.state();
  }
  CHECK(saved.s.size() == 5);
  CHECK(saved.iteration == 15);
  CHECK(saved.has_cache);
  Lbfgs<double> restored(n, c);
  restored.set_state(saved);
  for (int k = 0; k < 15; ++k) evals_b += restored.iterate(fn, xb.data()).evals;

  // Control: the same 15 iterations without the restored state (x alone) end elsewhere.
  {
    std::vector<double> xc = start;
    Lbfgs<double> c1(n, c), c2(n, c);
    for (int k = 0; k < 15; ++k) c1.iterate(fn, xc.data());
    for (int k = 0; k < 15; ++k) c2.iterate(fn, xc.data());
    CHECK_FALSE(same_bits(xc, xb));
  }

  CHECK(evals_a == evals_b);  // no extra evaluation after the restore: f and g came with the state
  CHECK(same_bits(xa, xb));
  const LbfgsState<double> sa = a.state(), sb = restored.state();
  CHECK(sa.iteration == 30);
  CHECK(sb.iteration == 30);
  CHECK(same_bits(sa.f, sb.f));
  CHECK(same_bits(sa.g, sb.g));
  CHECK(same_bits(sa.h_diag, sb.h_diag));
  CHECK(same_bits(sa.rho, sb.rho));
  REQUIRE(sa.s.size() == sb.s.size());
  for (std::size_t i = 0; i < sa.s.size(); ++i) {
    CHECK(same_bits(sa.s[i], sb.s[i]));
    CHECK(same_bits(sa.y[i], sb.y[i]));
  }
}

TEST_CASE("optim: L-BFGS set_state rejects inconsistent state and reset drops the cache") {
  const int n = 3;
  Lbfgs<double> opt(n, LbfgsConfig{2});
  LbfgsState<double> st;
  st.g.assign(n, 0.0);
  st.s = {std::vector<double>(n, 1.0)};
  check_throws_containing([&] { opt.set_state(st); }, "expected equal counts");
  st.y = {std::vector<double>(n, 1.0)};
  st.rho = {1.0 / 3};
  opt.set_state(st);  // consistent: accepted
  st.s.assign(3, std::vector<double>(n, 1.0));
  st.y = st.s;
  st.rho.assign(3, 1.0 / 3);
  check_throws_containing([&] { opt.set_state(st); }, "more than the configured history 2");
  st.s.resize(1), st.y.resize(1), st.rho.resize(1);
  st.y[0].resize(n - 1);
  check_throws_containing([&] { opt.set_state(st); }, "expected 3");
  st.y[0].resize(n);
  st.rho[0] = -1;
  check_throws_containing([&] { opt.set_state(st); }, "rho[0]");
  st.rho[0] = 1.0 / 3;
  st.g.resize(n + 1);
  check_throws_containing([&] { opt.set_state(st); }, "cached gradient");

  // After reset() the next call evaluates at x again (x may have been moved by Adam in between).
  std::vector<double> x = {0.0, 0.0, 0.0};
  int evals = 0;
  auto fn = [&](const double* p, double* g) {
    ++evals;
    double f = 0;
    for (int i = 0; i < n; ++i) f += (p[i] - i) * (p[i] - i), g[i] = 2 * (p[i] - i);
    return f;
  };
  Lbfgs<double> q(n);
  q.iterate(fn, x.data());
  const int after_first = evals;
  x = {5.0, 5.0, 5.0};
  q.reset();
  CHECK(q.state().s.empty());
  CHECK_FALSE(q.state().has_cache);
  const LbfgsStatus st2 = q.iterate(fn, x.data());
  CHECK(evals - after_first == st2.evals);
  CHECK(st2.f < 5 * 5 + 4 * 4 + 3 * 3);
}

TEST_CASE("optim: L-BFGS with a wrong-signed gradient restarts, then stalls without moving x") {
  // f = |x - 1|^2 with the true gradient for the first iterations, then its negative: every trial along the
  // resulting "descent" direction raises f, so no step passes sufficient decrease.
  const int n = 4;
  bool lie = false;
  auto fn = [&](const double* x, double* g) {
    double f = 0;
    for (int i = 0; i < n; ++i) {
      f += (x[i] - 1) * (x[i] - 1);
      g[i] = (lie ? -2 : 2) * (x[i] - 1) * (1 + i);  // anisotropic, so the history is not trivial
    }
    return f;
  };
  std::vector<double> x = {3.0, -2.0, 0.5, 4.0};
  Lbfgs<double> opt(n);
  for (int k = 0; k < 2; ++k) REQUIRE(opt.iterate(fn, x.data()).step > 0);
  REQUIRE_FALSE(opt.state().s.empty());
  lie = true;
  opt.reset();  // the cached gradient must be re-evaluated under the lie
  opt.iterate(fn, x.data());  // history empty after reset: steepest descent along the wrong sign
  const std::vector<double> before = x;
  const LbfgsStatus st = opt.iterate(fn, x.data());
  CHECK(st.line_search_failed);
  CHECK(st.step == 0);
  CHECK(st.stalled);
  CHECK(st.done());
  CHECK(same_bits(x, before));  // x restored exactly to the start of the iteration

  // With a history in place, a failed search first drops the history (restarted), and only the following
  // steepest-descent attempt reports stalled.
  lie = false;
  std::vector<double> y = {3.0, -2.0, 0.5, 4.0};
  Lbfgs<double> q(n);
  for (int k = 0; k < 2; ++k) REQUIRE(q.iterate(fn, y.data()).step > 0);
  LbfgsState<double> st_lie = q.state();
  lie = true;
  fn(y.data(), st_lie.g.data());  // cached gradient replaced by the lie, history kept
  q.set_state(st_lie);
  const LbfgsStatus first = q.iterate(fn, y.data());
  CHECK(first.step == 0);
  CHECK(first.restarted);
  CHECK_FALSE(first.stalled);
  CHECK(first.why_stuck() == nullptr);  // a restart moves on at the next call: no reason to end a run
  CHECK(q.state().s.empty());
  const LbfgsStatus second = q.iterate(fn, y.data());
  CHECK(second.stalled);
  CHECK(second.why_stuck() != nullptr);
}
