// float32 against float64 on the same inputs and weights: a float64 network whose weights are rounded to
// float32, copied into an Mlp<float> with copy_params_from, both evaluated on float32-representable points.
// Every difference is then float32 rounding inside the computation. Values, every stream (to third order,
// pure and collapsed) and parameter gradients of the residual losses must agree within a tolerance set by
// float32's eps; each check prints the share of its tolerance used.
#include <doctest/doctest.h>

#include <limits>

#include "test_problems.h"

using namespace jetpinn;
using jt::Mat;
using jt::Net;

namespace {

// Tolerances, |f32 - f64| <= atol + rtol |f64| with atol = rtol * (scale of the compared quantity):
// eps_f32 = 2^-23 ~ 1.2e-7. A stream of a depth-3, width-16 network is a few hundred float operations deep:
// dot products of up to 16 terms (error <= ~16 eps relative to the sum of |terms|, ~sqrt(16) eps typical), the
// activation's value and derivatives (Eigen's float tanh: a few ulp), then the chain rule, which multiplies
// first-order streams up to three times (k-th order streams carry ~k times the relative error of the first
// order ones). Against the largest entry of each stream this gives a few eps to ~10 eps (measured: 4e-7 for
// values, 3e-7 first, 9e-7 second, 5e-7 third order); rtol = 1e-5 (~84 eps) leaves a margin of >10x.
// Loss gradients: the residuals cancel (e.g. u_t against 5u^3 - 5u), so their float error relative to the
// gradient scale of a block is larger (measured up to 5.5e-6, ~46 eps); rtol = 5e-5 (~420 eps) with the
// block's largest gradient (floored at 1e-2 of the largest gradient of the network) as the scale. The loss
// values themselves: rtol 1e-5.
constexpr double kStreamRtol = 1e-5;
constexpr double kGradRtol = 5e-5;


// A double network and its float twin holding bit-identical (float-representable) weights.
struct Twins {
  Mlp<double> d;
  Mlp<float> f;
  Twins(Net kind, const jt::NetSpec& spec, std::uint64_t seed)
      : d(jt::make_net<double>(kind, spec, seed)), f(jt::make_net<float>(kind, spec, seed + 77)) {
    jt::round_params_to_float(d);
    f.copy_params_from(d);
    for (Index i = 0; i < d.params().size(); ++i)
      REQUIRE(static_cast<double>(f.params().values()[i]) == d.params().values()[i]);
  }
};

}  // namespace

TEST_CASE("core: float32 jets agree with float64 (values and every stream, plain/Fourier/modified/hard BC)") {
  for (Net kind : jt::all_nets())
    for (const auto& ss : {jt::full_xy(), jt::lap_xy()}) {
      jt::NetSpec spec;
      spec.inputs = 2;
      spec.outputs = 2;
      spec.bc_cols = {0, 1};
      Twins tw(kind, spec, 601);
      Rng rng(602);
      const Mat X = jt::round_to_float(jt::random_points(rng, 32, {{-1.0, 1.0}, {-1.0, 1.0}}));
      Tape<double> td(&tw.d.params());
      Tape<float> tf(&tw.f.params());
      Var<double> ud = tw.d.forward(td, td.input(X, ss));
      Var<float> uf = tw.f.forward(tf, tf.input(RowMat<float>(X.cast<float>()), ss));
      for (int s = 0; s < ss->size(); ++s) {
        const Mat a = jt::stream_of(uf, s), b = jt::stream_of(ud, s);
        jt::compare(std::string(jt::net_name(kind)) + " " + jt::stream_label(*ss, s), a, b,
                    jt::scaled(kStreamRtol, jt::max_abs(b)),
                    "float32 vs float64 streams of order " + std::to_string(ss->stream(s).order()) + " (rtol 1e-5)");
      }
    }
  jt::report_tolerance_use("float32 streams");
}

namespace {

template <class P>
void compare_gradients(Net kind, std::uint64_t seed) {
  Twins tw(kind, P::spec(), seed);
  jt::ProblemData data = P::data(seed + 1);
  data.interior = jt::round_to_float(data.interior);
  data.initial = jt::round_to_float(data.initial);
  tw.d.params().zero_grad();
  tw.f.params().zero_grad();
  Tape<double> td(&tw.d.params());
  Tape<float> tf(&tw.f.params());
  Var<double> ld = P::loss(td, tw.d, data);
  Var<float> lf = P::loss(tf, tw.f, data);
  td.backward(ld);
  tf.backward(lf);
  const std::string nm = std::string(P::name) + " " + jt::net_name(kind);
  jt::compare(nm + " loss", Mat::Constant(1, 1, double(lf.value()(0, 0))), Mat::Constant(1, 1, ld.value()(0, 0)),
              jt::scaled(kStreamRtol, std::abs(ld.value()(0, 0))), "float32 vs float64 loss (rtol 1e-5)");
  const auto& pd = tw.d.params();
  const auto& pf = tw.f.params();
  const double global = Eigen::Map<const Eigen::VectorXd>(pd.grads(), pd.size()).cwiseAbs().maxCoeff();
  REQUIRE(global > 0);
  for (int e = 0; e < pd.count(); ++e) {
    const Mat b = pd.grad(e).cast<double>(), a = pf.grad(e).cast<double>();
    jt::compare(nm + " d/d " + pd.info(e).name, a, b,
                jt::scaled(kGradRtol, std::max(jt::max_abs(b), 1e-2 * global)),
                "float32 vs float64 parameter gradients (rtol 5e-5)");
  }
}

}  // namespace

TEST_CASE("core: float32 residual-loss gradients agree with float64 (Allen-Cahn, Helmholtz, Navier-Stokes)") {
  for (Net kind : jt::all_nets()) {
    compare_gradients<jt::AllenCahn>(kind, 701);
    compare_gradients<jt::Helmholtz>(kind, 702);
    compare_gradients<jt::NavierStokes>(kind, 703);
  }
  jt::report_tolerance_use("float32 gradients");
}
