// L-BFGS over the VectorOps interface (core/lbfgs_vectors.h): HostVectorOps' primitives against plain loops,
// Lbfgs<double> with explicit ops against the default and against the closed-form minimiser of a quadratic, and
// the checkpoint state continuing bit for bit. A guarding VectorOps checks that every pointer Lbfgs hands to its
// ops lies in memory those ops allocated (or the caller's x): the contract a device backend relies on.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "lbfgs.h"
#include "lbfgs_vectors.h"
#include "optim_problems.h"
#include "rng.h"

using jetpinn::HostVectorOps;
using jetpinn::Lbfgs;
using jetpinn::LbfgsConfig;
using jetpinn::LbfgsState;
using jetpinn::LbfgsStatus;
using jetpinn::VectorOps;

using optim_test::same_bits;

namespace {


// Forwards to HostVectorOps, failing the test when a pointer (with its n entries) is not inside a block it
// allocated or the range given to allow(): Lbfgs must never pass its own host std::vectors to its ops.
template <class T>
class GuardedOps final : public VectorOps<T> {
 public:
  using Size = typename VectorOps<T>::Size;
  void allow(const T* p, Size n) { m_blocks.push_back({p, n}); }
  long calls = 0;

  T* allocate(Size n) override {
    T* p = m_host.allocate(n);
    allow(p, n);
    return p;
  }
  void release(T* p) noexcept override {
    for (auto& b : m_blocks)
      if (b.p == p) b = {nullptr, 0};
    m_host.release(p);
  }
  void upload(Size n, const T* host, T* y) override { m_host.upload(n, host, in(y, n)); }
  void download(Size n, const T* x, T* host) override { m_host.download(n, in(x, n), host); }
  void copy(Size n, const T* x, T* y) override { m_host.copy(n, in(x, n), in(y, n)); }
  void scale(Size n, double a, const T* x, T* y) override { m_host.scale(n, a, in(x, n), in(y, n)); }
  void axpy(Size n, double a, const T* x, T* y) override { m_host.axpy(n, a, in(x, n), in(y, n)); }
  void sub(Size n, const T* a, const T* b, T* y) override { m_host.sub(n, in(a, n), in(b, n), in(y, n)); }
  double dot(Size n, const T* a, const T* b) override { return m_host.dot(n, in(a, n), in(b, n)); }
  double asum(Size n, const T* x) override { return m_host.asum(n, in(x, n)); }
  double max_abs(Size n, const T* x) override { return m_host.max_abs(n, in(x, n)); }
  double max_abs_diff(Size n, const T* a, const T* b) override { return m_host.max_abs_diff(n, in(a, n), in(b, n)); }
  bool all_finite(Size n, const T* x) override { return m_host.all_finite(n, in(x, n)); }

 private:
  struct Block {
    const T* p;
    Size n;
  };
  HostVectorOps<T> m_host;
  std::vector<Block> m_blocks;

  template <class P>
  P* in(P* p, Size n) {
    ++calls;
    bool ok = false;
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    for (const Block& b : m_blocks) {
      const auto lo = reinterpret_cast<std::uintptr_t>(b.p);
      if (b.p && at >= lo && at + sizeof(T) * static_cast<std::size_t>(n) <= lo + sizeof(T) * static_cast<std::size_t>(b.n))
        ok = true;
    }
    CHECK_MESSAGE(ok, "a vector op got a pointer outside the ops' memory");
    return p;
  }
};

// f = 1/2 (x - x*)' A (x - x*), n = 30, A = Q diag(logspace(0, 2)) Q' with a random orthogonal Q (condition
// 100) and a random x*. The minimum value is 0, so f keeps its relative precision all the way to x*.
struct Quadratic {
  int n = 30;
  Eigen::MatrixXd A;
  Eigen::VectorXd x_star;
  Quadratic() {
    jetpinn::Rng rng(7);
    Eigen::MatrixXd M(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) M(i, j) = rng.normal();
    const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(M).householderQ();
    Eigen::VectorXd lambda(n);
    for (int i = 0; i < n; ++i) lambda(i) = std::pow(10.0, 2.0 * i / (n - 1));
    A = Q * lambda.asDiagonal() * Q.transpose();
    x_star.resize(n);
    for (int i = 0; i < n; ++i) x_star(i) = rng.normal();
  }
  double operator()(const double* x, double* g) const {
    const Eigen::VectorXd e = Eigen::Map<const Eigen::VectorXd>(x, n) - x_star;
    const Eigen::VectorXd Ae = A * e;
    Eigen::Map<Eigen::VectorXd>(g, n) = Ae;
    return 0.5 * e.dot(Ae);
  }
};

}  // namespace

TEST_CASE_TEMPLATE("lbfgs ops: HostVectorOps primitives match plain loops", T, float, double) {
  HostVectorOps<T> ops;
  const std::vector<T> a = {T(1.5), T(-2.25), T(0.1), T(3e-3), T(-7)};
  const std::vector<T> b = {T(-0.5), T(4), T(0.3), T(2e5), T(1e-4)};
  const auto n = static_cast<std::ptrdiff_t>(a.size());
  double dot = 0, asum = 0, max_abs = 0, max_diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    asum += std::abs(static_cast<double>(a[i]));
    max_abs = std::max(max_abs, std::abs(static_cast<double>(a[i])));
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  CHECK(ops.dot(n, a.data(), b.data()) == dot);
  CHECK(ops.asum(n, a.data()) == asum);
  CHECK(ops.max_abs(n, a.data()) == max_abs);
  CHECK(ops.max_abs_diff(n, a.data(), b.data()) == max_diff);
  CHECK(ops.max_abs(0, a.data()) == 0);
  CHECK(ops.dot(0, a.data(), b.data()) == 0);

  std::vector<T> y = b, d(a.size());
  ops.axpy(n, 0.75, a.data(), y.data());
  ops.sub(n, a.data(), b.data(), d.data());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(y[i] == static_cast<T>(static_cast<double>(b[i]) + 0.75 * static_cast<double>(a[i])));
    CHECK(d[i] == static_cast<T>(a[i] - b[i]));  // in T: the step s = x_new - x_old as stored
  }
  ops.scale(n, -1.0, a.data(), y.data());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(y[i] == -a[i]);

  std::vector<T> bad = a;
  CHECK(ops.all_finite(n, bad.data()));
  bad[3] = std::numeric_limits<T>::quiet_NaN();
  CHECK_FALSE(ops.all_finite(n, bad.data()));
  CHECK(ops.max_abs(n, bad.data()) == 7);  // NaN skipped, as std::max(m, NaN) keeps m
  bad[3] = std::numeric_limits<T>::infinity();
  CHECK_FALSE(ops.all_finite(n, bad.data()));

  T* p = ops.allocate(n);
  for (std::ptrdiff_t i = 0; i < n; ++i) CHECK(p[i] == T(0));  // allocate hands out zeros
  ops.upload(n, a.data(), p);
  std::vector<T> back(a.size());
  ops.download(n, p, back.data());
  CHECK(same_bits(back, a));
  ops.release(p);
}

TEST_CASE("lbfgs ops: explicit HostVectorOps, guarded ops and the default agree bit for bit and reach x*") {
  const Quadratic q;
  const int n = q.n;
  LbfgsConfig c;
  c.history = 8;
  c.tolerance_change = 0;  // run on to the gradient tolerance, max |g| <= 1e-12
  auto fn = [&](const double* x, double* g) { return q(x, g); };

  auto guarded = std::make_shared<GuardedOps<double>>();
  Lbfgs<double> plain(n, c), host(n, c, std::make_shared<HostVectorOps<double>>()), checked(n, c, guarded);
  std::vector<double> x0(n, 0.0), x1 = x0, x2 = x0;
  guarded->allow(x2.data(), n);
  LbfgsStatus st;
  int iterations = 0;
  for (; iterations < 300; ++iterations) {
    st = plain.iterate(fn, x0.data());
    const LbfgsStatus s1 = host.iterate(fn, x1.data()), s2 = checked.iterate(fn, x2.data());
    REQUIRE(same_bits(x0, x1));
    REQUIRE(same_bits(x0, x2));
    REQUIRE(same_bits(st.f, s1.f));
    REQUIRE(same_bits(st.f, s2.f));
    REQUIRE(st.evals == s2.evals);
    if (st.done()) break;
  }
  const double rel = (Eigen::Map<const Eigen::VectorXd>(x0.data(), n) - q.x_star).norm() / q.x_star.norm();
  // 1e-10: the stop at max |g| <= 1e-12 means |x - x*| <= sqrt(n) 1e-12 / lambda_min ~ 5e-12, |x*| ~ 5.
  MESSAGE("quadratic n = 30 (condition 100): " << iterations + 1 << " iterations, relative error " << rel
                                               << " (" << 100 * rel / 1e-10 << "% of 1e-10); guarded ops saw "
                                               << guarded->calls << " pointers");
  CHECK(st.converged);
  CHECK(rel <= 1e-10);
  CHECK(guarded->calls > 0);
}

TEST_CASE("lbfgs ops: state round trip through the ops' memory continues bit for bit") {
  const int n = 10;
  auto fn = [](const double* p, double* g) { return optim_test::rosenbrock(p, g, n); };
  LbfgsConfig c;
  c.history = 4;  // pairs are evicted before and after the save
  std::vector<double> start(n);
  for (int i = 0; i < n; ++i) start[i] = i % 2 ? 1.0 : -1.2;

  std::vector<double> xa = start;
  Lbfgs<double> a(n, c);
  for (int k = 0; k < 24; ++k) REQUIRE_FALSE(a.iterate(fn, xa.data()).done());

  std::vector<double> xb = start;
  auto ops_b = std::make_shared<GuardedOps<double>>();
  ops_b->allow(xb.data(), n);
  LbfgsState<double> saved;
  {
    Lbfgs<double> b(n, c, ops_b);
    for (int k = 0; k < 12; ++k) b.iterate(fn, xb.data());
    saved = b.state();
  }
  CHECK(saved.s.size() == 4);
  CHECK(saved.has_cache);
  auto ops_r = std::make_shared<GuardedOps<double>>();
  ops_r->allow(xb.data(), n);
  Lbfgs<double> restored(n, c, ops_r);
  restored.set_state(saved);
  const LbfgsState<double> again = restored.state();  // set_state then state: the same bits
  CHECK(same_bits(again.g, saved.g));
  CHECK(same_bits(again.rho, saved.rho));
  CHECK(same_bits(again.f, saved.f));
  CHECK(again.iteration == saved.iteration);
  for (std::size_t i = 0; i < saved.s.size(); ++i) {
    CHECK(same_bits(again.s[i], saved.s[i]));
    CHECK(same_bits(again.y[i], saved.y[i]));
  }
  for (int k = 0; k < 12; ++k) restored.iterate(fn, xb.data());

  CHECK(same_bits(xa, xb));
  const LbfgsState<double> sa = a.state(), sb = restored.state();
  CHECK(sb.iteration == 24);
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
