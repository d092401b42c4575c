// Jet chain-rule kernels against the CPU kernels (core/jet_kernels_cpu.cpp, in float64 on the same inputs):
// unary forward/backward for every activation, product forward/backward, for three stream sets and element
// counts that are not multiples of the 256-thread block. Every stream is compared with its own norm.
#include "cuda_test_helpers.h"
#include "jet_kernels_cpu.h"
#include "jet_ops.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {
std::vector<StreamSetPtr> stream_sets() {
  return {StreamSet::make({"t", "x"}, {"t", "xx"}), StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"}),
          StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"})};
}
}  // namespace

TEST_CASE_TEMPLATE("unary jet kernels match the CPU", T, float, double) {
  const Activation acts[] = {Activation::Tanh, Activation::Sin, Activation::Cos, Activation::Exp, Activation::Sigmoid,
                             Activation::Softplus, Activation::Log, Activation::Sqrt, Activation::Reciprocal, Activation::Power, Activation::Erf};
  for (const StreamSetPtr& set : stream_sets()) {
    const int S = set->size();
    const FlatRules rules = flatten_unary(*set);
    for (Index n : {Index(1), Index(257), Index(5003)}) {
      const auto N = static_cast<std::size_t>(S * n);
      for (Activation a : acts) {
        const bool positive = a == Activation::Log || a == Activation::Sqrt || a == Activation::Reciprocal;
        auto x = ct::random_data<T>(N, 10 + static_cast<std::uint64_t>(n));
        if (positive)
          for (Index e = 0; e < n; ++e) {
            const auto i = static_cast<std::size_t>(e);
            x.t[i] = static_cast<T>(0.5 + std::abs(x.d[i]));
            x.d[i] = static_cast<double>(x.t[i]);
          }
        const auto dy = ct::random_data<T>(N, 20 + static_cast<std::uint64_t>(n));
        const auto dx0 = ct::random_data<T>(N, 30);  // backward accumulates into this
        const int power = a == Activation::Power ? 3 : 0;
        std::vector<double> y_ref(N), dx_ref = dx0.d;
        unary_jet_forward_cpu<double>(a, power, *set, n, x.d.data(), y_ref.data());
        unary_jet_backward_cpu<double>(a, power, *set, n, x.d.data(), y_ref.data(), dy.d.data(), dx_ref.data());

        auto xd = ct::upload(x.t, S * n, 1), dyd = ct::upload(dy.t, S * n, 1), dxd = ct::upload(dx0.t, S * n, 1);
        DeviceTensor<T> yd(ct::ctx(), S * n, 1);
        unary_jet_forward<T>(ct::ctx(), rules, a, power, n, xd.data(), yd.data());
        unary_jet_backward<T>(ct::ctx(), rules, a, power, n, xd.data(), yd.data(), dyd.data(), dxd.data());
        const std::string what = std::string(activation_name(a)) + " [" + set->describe() + "] n=" + std::to_string(n);
        ct::check_close_streams(what + " forward", ct::download(yd), y_ref, ct::tol<T>(), S);
        ct::check_close_streams(what + " backward", ct::download(dxd), dx_ref, ct::tol<T>(), S);
      }
    }
  }
}

TEST_CASE_TEMPLATE("product jet kernels match the CPU", T, float, double) {
  for (const StreamSetPtr& set : stream_sets()) {
    const int S = set->size();
    const FlatRules rules = flatten_product(*set);
    for (Index n : {Index(1), Index(300), Index(4099)}) {
      const auto N = static_cast<std::size_t>(S * n);
      const auto u = ct::random_data<T>(N, 1), v = ct::random_data<T>(N, 2), dy = ct::random_data<T>(N, 3);
      const auto du0 = ct::random_data<T>(N, 4), dv0 = ct::random_data<T>(N, 5);
      std::vector<double> y_ref(N), du_ref = du0.d, dv_ref = dv0.d;
      product_jet_forward_cpu<double>(*set, n, u.d.data(), v.d.data(), y_ref.data());
      product_jet_backward_cpu<double>(*set, n, u.d.data(), v.d.data(), dy.d.data(), du_ref.data(), dv_ref.data());
      auto ud = ct::upload(u.t, S * n, 1), vd = ct::upload(v.t, S * n, 1), dyd = ct::upload(dy.t, S * n, 1);
      auto dud = ct::upload(du0.t, S * n, 1), dvd = ct::upload(dv0.t, S * n, 1);
      DeviceTensor<T> yd(ct::ctx(), S * n, 1);
      product_jet_forward<T>(ct::ctx(), rules, n, ud.data(), vd.data(), yd.data());
      product_jet_backward<T>(ct::ctx(), rules, n, ud.data(), vd.data(), dyd.data(), dud.data(), dvd.data());
      const std::string what = "product [" + set->describe() + "] n=" + std::to_string(n);
      ct::check_close_streams(what + " forward", ct::download(yd), y_ref, ct::tol<T>(), S);
      ct::check_close_streams(what + " du", ct::download(dud), du_ref, ct::tol<T>(), S);
      ct::check_close_streams(what + " dv", ct::download(dvd), dv_ref, ct::tol<T>(), S);
    }
  }
}
