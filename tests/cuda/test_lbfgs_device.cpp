// L-BFGS on device memory: DeviceVectorOps (kernels/device_vector_ops.h) against HostVectorOps, primitive by
// primitive on fresh random vectors of ragged lengths (1, 1000, 100003), then whole Lbfgs runs (20 iterations)
// on a quadratic in float64 and float32 with the vectors on the device and on the host. The objective reads x
// back to the host and evaluates there in double, so both runs see the same f and g for the same x; they differ
// only by the device reductions' summation order.
#include <cstring>
#include <limits>
#include <memory>

#include "cuda_test_helpers.h"
#include "device_vector_ops.h"
#include "lbfgs.h"
#include "lbfgs_vectors.h"

using jetpinn::HostVectorOps;
using jetpinn::Lbfgs;
using jetpinn::LbfgsConfig;
using jetpinn::LbfgsStatus;
using jetpinn::VectorBuffer;
using jetpinn::cuda::DeviceVectorOps;

namespace {

// Reductions of the device and the host differ only in summation order (products of two floats are exact in
// double, so float inputs add no rounding of their own): |error| <= n eps_double sum |terms| in the worst case,
// about sqrt(n) eps_double sum |terms| in practice. 1e-12 relative to sum |terms| covers n = 1e5 with margin.
constexpr double REDUCTION_TOL = 1e-12;

template <class T>
std::vector<T> from_device(DeviceVectorOps<T>& ops, const VectorBuffer<T>& b) {
  std::vector<T> h(static_cast<std::size_t>(b.size()));
  ops.download(b.size(), b.data(), h.data());
  return h;
}

template <class T>
VectorBuffer<T> to_device(DeviceVectorOps<T>& ops, const std::vector<T>& h) {
  VectorBuffer<T> b(ops, static_cast<std::ptrdiff_t>(h.size()));
  ops.upload(b.size(), h.data(), b.data());
  return b;
}

void check_scalar(const std::string& what, double device, double host, double scale) {
  const double e = std::abs(device - host) / (scale > 0 ? scale : 1.0);
  MESSAGE(what << ": device " << device << ", host " << host << ", error " << e << " relative to " << scale << " ("
               << 100.0 * e / REDUCTION_TOL << "% of " << REDUCTION_TOL << ")");
  CHECK_MESSAGE(std::isfinite(device), what << " is not finite");
  CHECK_MESSAGE(e <= REDUCTION_TOL, what << ": error " << e << " > " << REDUCTION_TOL);
}

// f = 1/2 e'Ae, e = x - x*, A = D + u u' (D in [1, 100], |u| ~ 1): g = A e, min 0 at x*. Evaluated on the host in
// double from x in T; the gradient is rounded to T.
struct Quadratic {
  std::vector<double> diag, u, x_star;
  explicit Quadratic(std::size_t n) {
    diag = ct::random_data<double>(n, 301, 1.0, 100.0).d;
    u = ct::random_data<double>(n, 302, -1.0, 1.0).d;
    const double s = 1.0 / std::sqrt(static_cast<double>(n));
    for (double& v : u) v *= s;
    x_star = ct::random_data<double>(n, 303, -2.0, 2.0).d;
  }
  template <class T>
  double operator()(const T* x, T* g) const {
    const std::size_t n = diag.size();
    std::vector<double> e(n);
    double ue = 0;
    for (std::size_t i = 0; i < n; ++i) {
      e[i] = static_cast<double>(x[i]) - x_star[i];
      ue += u[i] * e[i];
    }
    double f = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double ae = diag[i] * e[i] + u[i] * ue;
      f += 0.5 * e[i] * ae;
      g[i] = static_cast<T>(ae);
    }
    return f;
  }
};

}  // namespace

TEST_CASE_TEMPLATE("lbfgs device: DeviceVectorOps primitives match HostVectorOps on ragged lengths", T, float, double) {
  DeviceVectorOps<T> dev(ct::ctx());
  HostVectorOps<T> host;
  const double eps = std::numeric_limits<T>::epsilon();
  for (const std::ptrdiff_t n : {std::ptrdiff_t(1), std::ptrdiff_t(1000), std::ptrdiff_t(100003)}) {
    const auto un = static_cast<std::size_t>(n);
    const std::string at = " (n = " + std::to_string(n) + ", " + (sizeof(T) == 8 ? "f64" : "f32") + ")";
    const auto a = ct::random_data<T>(un, 11 + un, -2.0, 2.0), b = ct::random_data<T>(un, 12 + un, -3.0, 1.0);
    VectorBuffer<T> da = to_device(dev, a.t), db = to_device(dev, b.t);
    double sum_ab = 0, sum_a = 0;
    for (std::size_t i = 0; i < un; ++i) {
      sum_ab += std::abs(a.d[i] * b.d[i]);
      sum_a += std::abs(a.d[i]);
    }

    check_scalar("dot" + at, dev.dot(n, da.data(), db.data()), host.dot(n, a.t.data(), b.t.data()), sum_ab);
    check_scalar("asum" + at, dev.asum(n, da.data()), host.asum(n, a.t.data()), sum_a);
    // Maxima are exact: the same entries, the same |.| (and |a - b| rounds the same in double).
    CHECK(dev.max_abs(n, da.data()) == host.max_abs(n, a.t.data()));
    CHECK(dev.max_abs_diff(n, da.data(), db.data()) == host.max_abs_diff(n, a.t.data(), b.t.data()));
    CHECK(dev.all_finite(n, da.data()));

    // axpy and scale compute in double and round once to T: at most an FMA's difference in double, so within an
    // ulp of T after rounding (2 eps normwise leaves room for a rounding tie). sub is one IEEE op in T: exact.
    std::vector<T> y = b.t;
    VectorBuffer<T> dy = to_device(dev, b.t), ds(dev, n);
    dev.axpy(n, -0.37, da.data(), dy.data());
    host.axpy(n, -0.37, a.t.data(), y.data());
    const auto dy_h = from_device(dev, dy);
    ct::check_close("axpy" + at, std::vector<double>(dy_h.begin(), dy_h.end()), std::vector<double>(y.begin(), y.end()),
                    2 * eps);
    dev.scale(n, 1.7, dy.data(), dy.data());  // in place, as the two-loop recursion uses it
    std::vector<T> ys = dy_h;
    host.scale(n, 1.7, ys.data(), ys.data());
    const auto ds_h = from_device(dev, dy);
    CHECK(std::memcmp(ds_h.data(), ys.data(), sizeof(T) * un) == 0);
    dev.sub(n, da.data(), db.data(), ds.data());
    std::vector<T> d(un);
    host.sub(n, a.t.data(), b.t.data(), d.data());
    const auto dd_h = from_device(dev, ds);
    CHECK(std::memcmp(dd_h.data(), d.data(), sizeof(T) * un) == 0);
    dev.copy(n, da.data(), ds.data());
    CHECK(std::memcmp(from_device(dev, ds).data(), a.t.data(), sizeof(T) * un) == 0);

    // A NaN, then an inf, anywhere: all_finite says so, max_abs skips the NaN like std::max.
    std::vector<T> bad = a.t;
    bad[un / 2] = std::numeric_limits<T>::quiet_NaN();
    VectorBuffer<T> dbad = to_device(dev, bad);
    CHECK_FALSE(dev.all_finite(n, dbad.data()));
    CHECK(dev.max_abs(n, dbad.data()) == host.max_abs(n, bad.data()));
    bad = a.t;
    bad[un - 1] = std::numeric_limits<T>::infinity();
    dev.upload(n, bad.data(), dbad.data());
    CHECK_FALSE(dev.all_finite(n, dbad.data()));
  }
  // Fresh buffers are zero, as on the host.
  VectorBuffer<T> z(dev, 777);
  for (T v : from_device(dev, z)) REQUIRE(v == T(0));
}

TEST_CASE_TEMPLATE("lbfgs device: 20 iterations with the vectors on the device track the host run", T, float, double) {
  const std::ptrdiff_t n = 4099;
  const auto un = static_cast<std::size_t>(n);
  const Quadratic q(un);
  LbfgsConfig c;
  c.history = 5;  // pairs evicted within the 20 iterations
  const auto x0 = ct::random_data<T>(un, 304, -3.0, 3.0);

  // Host run.
  std::vector<T> xh = x0.t;
  Lbfgs<T> host(n, c);
  auto fn_host = [&](const T* x, T* g) { return q(x, g); };

  // Device run: x and g are device pointers; the objective reads x back and writes g up.
  auto ops = std::make_shared<DeviceVectorOps<T>>(ct::ctx());
  VectorBuffer<T> xd = to_device(*ops, x0.t);
  Lbfgs<T> dev(n, c, ops);
  std::vector<T> x_tmp(un), g_tmp(un);
  auto fn_dev = [&](const T* x, T* g) {
    ops->download(n, x, x_tmp.data());
    const double f = q(x_tmp.data(), g_tmp.data());
    ops->upload(n, g_tmp.data(), g);
    return f;
  };

  LbfgsStatus sh, sd;
  for (int k = 0; k < 20; ++k) {
    sh = host.iterate(fn_host, xh.data());
    sd = dev.iterate(fn_dev, xd.data());
    REQUIRE_FALSE(sh.done());
    CHECK(sd.iteration == sh.iteration);
    CHECK(sd.restarted == sh.restarted);
  }
  const auto xd_h = from_device(*ops, xd);
  MESSAGE("after 20 iterations: f host " << sh.f << ", device " << sd.f << " (start "
                                         << q(x0.t.data(), g_tmp.data()) << ")");
  CHECK(sd.f <= 1e-3 * q(x0.t.data(), g_tmp.data()));  // the run went somewhere
  ct::check_close(std::string("x after 20 iterations, ") + (sizeof(T) == 8 ? "f64" : "f32"),
                  std::vector<double>(xd_h.begin(), xd_h.end()), std::vector<double>(xh.begin(), xh.end()),
                  ct::tol<T>());
  // The state comes back to the host like the host run's; its history pairs agree like x does (s = x_k+1 - x_k
  // is compared to the largest step, y to the largest gradient change).
  const auto st_d = dev.state(), st_h = host.state();
  REQUIRE(st_d.s.size() == st_h.s.size());
  CHECK(st_d.has_cache);
  const std::size_t last = st_h.s.size() - 1;
  ct::check_close("newest s", std::vector<double>(st_d.s[last].begin(), st_d.s[last].end()),
                  std::vector<double>(st_h.s[last].begin(), st_h.s[last].end()), std::sqrt(ct::tol<T>()));
}
