// The Allen-Cahn step used by the core benchmarks: jets forward on the collocation points, the residual
// u_t - 1e-4 u_xx + 5u^3 - 5u and the initial-condition misfit, mean squares, reverse sweep.
// gemm_flops() counts the multiply-adds (2 flops each) of every affine product the step runs.
#pragma once
#include <cmath>

#include "mlp.h"
#include "rng.h"

namespace jetpinn::bench {

template <class T>
struct AllenCahnStep {
  Mlp<T> net;
  Tape<T> tape;
  StreamSetPtr streams = StreamSet::make({"t", "x"}, {"t", "xx"});
  RowMat<T> points, ic_points, ic_values;

  AllenCahnStep(int depth, int width, Index n_points, Index n_ic = 512, std::uint64_t seed = 1)
      : net(config(depth, width), seed), tape(&net.params()) {
    Rng rng(seed + 1);
    points.resize(n_points, 2);
    for (Index i = 0; i < n_points; ++i) points.row(i) << T(rng.uniform()), T(rng.uniform(-1, 1));
    ic_points.resize(n_ic, 2);
    ic_values.resize(n_ic, 1);
    for (Index i = 0; i < n_ic; ++i) {
      const double x = -1 + 2.0 * static_cast<double>(i) / static_cast<double>(n_ic - 1);
      ic_points.row(i) << T(0), T(x);
      ic_values(i, 0) = T(x * x * std::cos(M_PI * x));
    }
  }
  static MlpConfig config(int depth, int width) {
    MlpConfig c;
    c.inputs = 2;
    c.depth = depth;
    c.width = width;
    return c;
  }
  // One step; returns the loss.
  T run() {
    tape.reset();
    net.params().zero_grad();
    Var<T> u = net.forward(tape, tape.input(points, streams));
    Var<T> v = u.d("");
    Var<T> r = u.d("t") - 1e-4 * u.d("xx") + 5.0 * (v * v * v) - 5.0 * v;
    Var<T> u0 = net.forward(tape, tape.input(ic_points, StreamSet::value_only()));
    Var<T> loss = mean(r * r) + mean(square(u0 - tape.constant(ic_values)));
    tape.backward(loss);
    return loss.value()(0, 0);
  }
  double gemm_flops() const {
    const auto& c = net.config();
    auto layers = [&](double rows) {
      double f = 0;
      for (int l = 0; l <= c.depth; ++l) {
        const double in = l == 0 ? c.inputs : c.width, out = l == c.depth ? c.outputs : c.width;
        f += 2 * rows * in * out * (l == 0 ? 2 : 3);  // forward, dW, and dX except for the input layer
      }
      return f;
    };
    return layers(static_cast<double>(streams->size() * points.rows())) + layers(static_cast<double>(ic_points.rows()));
  }
};

}  // namespace jetpinn::bench
