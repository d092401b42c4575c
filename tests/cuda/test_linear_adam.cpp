// Affine layers through cuBLAS (one GEMM over all S*P rows), elementwise ops, deterministic reductions and the
// Adam kernel, against CPU references in float64 on the same inputs. Shapes include 1 x 1, ragged sizes and
// the 128-wide layers of the paper network.
#include <cstring>
#include <limits>

#include "adam.h"
#include "adam_device.h"
#include "affine.h"
#include "cuda_test_helpers.h"
#include "elementwise.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {
struct Shape {
  int S;
  std::ptrdiff_t P, in, out;
};
const Shape SHAPES[] = {{1, 1, 1, 1}, {4, 37, 3, 5}, {9, 130, 128, 128}, {4, 1000, 128, 1}, {4, 513, 2, 128}};
}  // namespace

TEST_CASE_TEMPLATE("affine forward and backward match x W^T + b and its adjoints", T, float, double) {
  for (const Shape& sh : SHAPES) {
    const std::ptrdiff_t R = sh.S * sh.P;
    const auto x = ct::random_data<T>(static_cast<std::size_t>(R * sh.in), 1);
    const auto W = ct::random_data<T>(static_cast<std::size_t>(sh.out * sh.in), 2);
    const auto b = ct::random_data<T>(static_cast<std::size_t>(sh.out), 3);
    const auto dy = ct::random_data<T>(static_cast<std::size_t>(R * sh.out), 4);
    const auto dW0 = ct::random_data<T>(W.t.size(), 5), db0 = ct::random_data<T>(b.t.size(), 6);
    const auto dx0 = ct::random_data<T>(x.t.size(), 7);
    std::vector<double> y_ref(static_cast<std::size_t>(R * sh.out)), dW_ref = dW0.d, db_ref = db0.d, dx_ref = dx0.d;
    for (std::ptrdiff_t r = 0; r < R; ++r)
      for (std::ptrdiff_t o = 0; o < sh.out; ++o) {
        double acc = r < sh.P ? b.d[static_cast<std::size_t>(o)] : 0.0;
        for (std::ptrdiff_t k = 0; k < sh.in; ++k) acc += x.d[static_cast<std::size_t>(r * sh.in + k)] * W.d[static_cast<std::size_t>(o * sh.in + k)];
        y_ref[static_cast<std::size_t>(r * sh.out + o)] = acc;
        const double g = dy.d[static_cast<std::size_t>(r * sh.out + o)];
        if (r < sh.P) db_ref[static_cast<std::size_t>(o)] += g;
        for (std::ptrdiff_t k = 0; k < sh.in; ++k) {
          dW_ref[static_cast<std::size_t>(o * sh.in + k)] += g * x.d[static_cast<std::size_t>(r * sh.in + k)];
          dx_ref[static_cast<std::size_t>(r * sh.in + k)] += g * W.d[static_cast<std::size_t>(o * sh.in + k)];
        }
      }
    auto xd = ct::upload(x.t, R, sh.in), Wd = ct::upload(W.t, sh.out, sh.in), bd = ct::upload(b.t, 1, sh.out);
    auto dyd = ct::upload(dy.t, R, sh.out), dWd = ct::upload(dW0.t, sh.out, sh.in), dbd = ct::upload(db0.t, 1, sh.out);
    auto dxd = ct::upload(dx0.t, R, sh.in);
    DeviceTensor<T> yd(ct::ctx(), R, sh.out);
    affine_forward<T>(ct::ctx(), R, sh.P, sh.in, sh.out, xd.data(), Wd.data(), bd.data(), yd.data());
    affine_backward<T>(ct::ctx(), R, sh.P, sh.in, sh.out, xd.data(), Wd.data(), dyd.data(), dWd.data(), dbd.data(), dxd.data());
    const std::string what = "affine S=" + std::to_string(sh.S) + " P=" + std::to_string(sh.P) + " " +
                             std::to_string(sh.in) + "->" + std::to_string(sh.out);
    ct::check_close_streams(what + " y", ct::download(yd), y_ref, ct::tol<T>(), sh.S);
    ct::check_close(what + " dW", ct::download(dWd), dW_ref, ct::tol<T>());
    ct::check_close(what + " db", ct::download(dbd), db_ref, ct::tol<T>());
    ct::check_close_streams(what + " dx", ct::download(dxd), dx_ref, ct::tol<T>(), sh.S);
  }
}

TEST_CASE_TEMPLATE("elementwise ops, sums, means and column sums", T, float, double) {
  for (std::ptrdiff_t n : {std::ptrdiff_t(1), std::ptrdiff_t(255), std::ptrdiff_t(100003)}) {
    const auto a = ct::random_data<T>(static_cast<std::size_t>(n), 1), b = ct::random_data<T>(static_cast<std::size_t>(n), 2);
    auto ad = ct::upload(a.t, n, 1), bd = ct::upload(b.t, n, 1);
    DeviceTensor<T> y(ct::ctx(), n, 1), s(ct::ctx(), 1, 1);
    std::vector<double> ref(static_cast<std::size_t>(n));
    const std::string tag = " n=" + std::to_string(n);
    add<T>(ct::ctx(), n, ad.data(), bd.data(), y.data());
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = a.d[i] + b.d[i];
    ct::check_close("add" + tag, ct::download(y), ref, ct::tol<T>());
    sub<T>(ct::ctx(), n, ad.data(), bd.data(), y.data());
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = a.d[i] - b.d[i];
    ct::check_close("sub" + tag, ct::download(y), ref, ct::tol<T>());
    mul<T>(ct::ctx(), n, ad.data(), bd.data(), y.data());
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = a.d[i] * b.d[i];
    ct::check_close("mul" + tag, ct::download(y), ref, ct::tol<T>());
    scale<T>(ct::ctx(), n, T(-1.5), ad.data(), y.data());
    axpy<T>(ct::ctx(), n, T(0.25), bd.data(), y.data());
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = -1.5 * a.d[i] + 0.25 * b.d[i];
    ct::check_close("scale+axpy" + tag, ct::download(y), ref, ct::tol<T>());
    double sum = 0;
    for (double v : a.d) sum += v;
    sum_all<T>(ct::ctx(), n, ad.data(), s.data());
    ct::check_close("sum" + tag, ct::download(s), {sum}, ct::tol<T>());
    mean_all<T>(ct::ctx(), n, ad.data(), s.data());
    ct::check_close("mean" + tag, ct::download(s), {sum / static_cast<double>(n)}, ct::tol<T>());
    fill<T>(ct::ctx(), n, T(3), y.data());
    CHECK(ct::download(y) == std::vector<double>(static_cast<std::size_t>(n), 3.0));
  }
  for (auto [rows, cols] : {std::pair<std::ptrdiff_t, std::ptrdiff_t>{1, 1}, {25600, 128}, {1001, 33}, {7, 300}}) {
    const auto x = ct::random_data<T>(static_cast<std::size_t>(rows * cols), 9), o0 = ct::random_data<T>(static_cast<std::size_t>(cols), 10);
    auto xd = ct::upload(x.t, rows, cols), od = ct::upload(o0.t, 1, cols);
    std::vector<double> ref = o0.d;
    for (std::ptrdiff_t r = 0; r < rows; ++r)
      for (std::ptrdiff_t c = 0; c < cols; ++c) ref[static_cast<std::size_t>(c)] += x.d[static_cast<std::size_t>(r * cols + c)];
    colsum_accumulate<T>(ct::ctx(), rows, cols, xd.data(), od.data());
    ct::check_close("colsum " + std::to_string(rows) + "x" + std::to_string(cols), ct::download(od), ref, ct::tol<T>());
    std::vector<double> rv = x.d;
    for (std::ptrdiff_t r = 0; r < std::min<std::ptrdiff_t>(rows, 3); ++r)
      for (std::ptrdiff_t c = 0; c < cols; ++c) rv[static_cast<std::size_t>(r * cols + c)] += o0.d[static_cast<std::size_t>(c)];
    add_row_vector<T>(ct::ctx(), std::min<std::ptrdiff_t>(rows, 3), cols, ct::upload(o0.t, 1, cols).data(), xd.data());
    ct::check_close("add_row_vector", ct::download(xd), rv, ct::tol<T>());
  }
}

// The device step against adam_update_entry on the host (this file is built with -ffp-contract=off): bit for
// bit; against Adam<T>::step (built with contraction) to 4 eps.
TEST_CASE_TEMPLATE("adam kernel: bit-identical to the uncontracted rule, ulps from Adam<T>::step", T, float, double) {
  const std::ptrdiff_t n = 100003;
  AdamConfig cfg;
  Adam<T> cpu(n, cfg);
  const auto p0 = ct::random_data<T>(static_cast<std::size_t>(n), 1);
  std::vector<T> p_cpu = p0.t, p_rule = p0.t, m(p0.t.size(), T(0)), v = m;
  auto pd = ct::upload(p0.t, n, 1), md = ct::upload(m, n, 1), vd = ct::upload(v, n, 1);
  for (long t = 1; t <= 3; ++t) {
    const auto g = ct::random_data<T>(static_cast<std::size_t>(n), 100 + static_cast<std::uint64_t>(t), -2, 2);
    auto gd = ct::upload(g.t, n, 1);
    const double lr = 1e-3;
    const AdamStepScalars s = adam_step_scalars(cfg.beta1, cfg.beta2, cfg.eps, t, lr);
    std::vector<double> s_host(sizeof s / sizeof(double));
    std::memcpy(s_host.data(), &s, sizeof s);
    auto sd = ct::upload(s_host, static_cast<std::ptrdiff_t>(s_host.size()), 1);
    adam_update<T>(ct::ctx(), n, reinterpret_cast<const AdamStepScalars*>(sd.data()), nullptr, 0, pd.data(), gd.data(),
                   md.data(), vd.data());
    cpu.step(p_cpu.data(), g.t.data(), lr);
    for (std::size_t i = 0; i < p_rule.size(); ++i) adam_update_entry<T>(s, p_rule[i], g.t[i], m[i], v[i]);
    CHECK(pd.to_host() == p_rule);
    CHECK(md.to_host() == m);
    CHECK(vd.to_host() == v);
    ct::check_close("adam vs Adam<T>::step", ct::download(pd), std::vector<double>(p_cpu.begin(), p_cpu.end()),
                    4 * std::numeric_limits<T>::epsilon());
  }
}
