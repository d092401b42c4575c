// Per-kernel CPU benchmarks of the jet engine, each checked before it is timed:
//   BM_JetLayer        one hidden layer forward on a jet: affine (one GEMM over streams x points rows, bias on the
//                      value stream) then the tanh jet rule; checked against a naive loop on sampled rows.
//   BM_LayerReverse    the reverse sweep of that layer as Tape::backward runs it: the tanh jet rule's adjoint, then
//                      dW += dZ^T H, db += column sums of the value stream, dH += dZ W; checked against the tape.
//   BM_JetRule / BM_JetRuleBackward   one activation's jet rule (tanh, sin) forward / adjoint over a stream set
//                      (allen-cahn: u, u_t, u_x, u_xx; helmholtz: u, u_x, u_y, lap; cavity: 9 streams to third
//                      order); checked against the rule program evaluated naively in float64.
//   BM_GemmBlas / BM_GemmEigen        the machine's reference GEMM on the layer's shapes: Eigen's product (the
//                      linked BLAS when there is one) in the three shapes, and Eigen's own GEMM (forward shape).
// Shapes: a jet of S streams over P points and width w is an (S*P) x w row-major matrix (core/tensor.h).
// FLOP counts (2 per multiply-add): layer forward 2*S*P*w^2; layer reverse 4*S*P*w^2 (dW and dH); the jet rules
// count sum over the rule's terms of (factors + 1) multiplies and one add per element, per derivative evaluated
// (k <= 3 forward), not counting f itself; they are memory-bound, so GB/s counts S*P*w values read (x) and
// written (y) forward, and read x, y, dy and read-modified-written dx in reverse.
// Default run: a few shapes (about half a minute). `--sweep` adds points 1k..64k x width 64/128/256 x f32/f64
// and every stream set; combine with --benchmark_filter.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "layer_gemm.h"
#include "sweep_main.h"
#include "gemm_eigen_native.h"
#include "jet_kernels_cpu.h"
#include "rng.h"
#include "tape.h"

using namespace jetpinn;

namespace {

using Clock = std::chrono::steady_clock;

StreamSetPtr stream_set(int id) {
  switch (id) {
    case 0: return StreamSet::make({"t", "x"}, {"t", "xx"});               // allen-cahn, burgers
    case 1: return StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});        // helmholtz
    default: return StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"});  // cavity (psi)
  }
}
const char* stream_set_name(int id) { return id == 0 ? "allen-cahn" : id == 1 ? "helmholtz" : "cavity"; }

template <class T>
void fill_random(T* p, Index n, std::uint64_t seed, double lo = -1, double hi = 1) {
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) p[i] = static_cast<T>(rng.uniform(lo, hi));
}

// Symmetric relative error with a floor: |a - b| / (|b| + floor).
double rel_err(double a, double b, double floor) { return std::abs(a - b) / (std::abs(b) + floor); }

// Tolerances: float32 results of sums of up to w = 256 products carry ~1e-6 relative rounding, so 1e-4 leaves
// a wide margin; float64 ones ~1e-15, so 1e-10.
template <class T>
constexpr double TOL = sizeof(T) == 4 ? 1e-4 : 1e-10;

// ---- One layer forward -------------------------------------------------------------------------------------

template <class T>
struct LayerFixture {
  StreamSetPtr streams = stream_set(0);
  ParamStore<T> params;
  int w0, b0, w1, b1;
  RowMat<T> points;
  Tape<T> tape{&params};
  Index P, width;
  LayerFixture(Index p, Index w) : P(p), width(w) {
    w0 = params.add("in.W", w, 2, false);
    b0 = params.add("in.b", 1, w, true);
    w1 = params.add("layer.W", w, w, false);
    b1 = params.add("layer.b", 1, w, true);
    fill_random(params.values(), params.size(), 7, -0.3, 0.3);
    points.resize(p, 2);
    fill_random(points.data(), points.size(), 8);
  }
  // Records the input layer (not timed) and returns its output, the layer's input H.
  Var<T> prefix() {
    tape.reset();
    return tape.unary(tape.affine(tape.input(points, streams), w0, b0), Activation::Tanh);
  }
  Var<T> layer(Var<T> h) { return tape.unary(tape.affine(h, w1, b1), Activation::Tanh); }
};

// Naive reference of y = tanh-jet(H W^T + b) for the allen-cahn streams (u, u_t, u_x, u_xx) at point p, col j:
// z = sum_k h_k W_jk (+ b_j on the value), t = tanh z0, s = 1 - t^2: y_t = s z_t, y_x = s z_x,
// y_xx = -2 t s z_x^2 + s z_xx.
template <class T>
double layer_check(LayerFixture<T>& f, Var<T> h, Var<T> y) {
  const Tensor<T>& H = h.value();
  const Tensor<T>& Y = y.value();
  auto W = std::as_const(f.params).value(f.w1);
  auto b = std::as_const(f.params).value(f.b1);
  double worst = 0;
  for (Index p = 0; p < f.P; p += std::max<Index>(1, f.P / 16)) {
    for (Index j = 0; j < f.width; ++j) {
      double z[4];
      for (int s = 0; s < 4; ++s) {
        z[s] = s == 0 ? double(b(0, j)) : 0.0;
        for (Index k = 0; k < f.width; ++k) z[s] += double(H(s * f.P + p, k)) * double(W(j, k));
      }
      const double t = std::tanh(z[0]), sd = 1 - t * t;
      const double ref[4] = {t, sd * z[1], sd * z[2], -2 * t * sd * z[2] * z[2] + sd * z[3]};
      for (int s = 0; s < 4; ++s) worst = std::max(worst, rel_err(double(Y(s * f.P + p, j)), ref[s], 1e-2));
    }
  }
  return worst;
}

template <class T>
void BM_JetLayer(benchmark::State& state) {
  const Index P = state.range(0), w = state.range(1);
  LayerFixture<T> f(P, w);
  {
    Var<T> h = f.prefix();
    Var<T> y = f.layer(h);
    const double err = layer_check(f, h, y);
    if (!(err <= TOL<T>)) state.SkipWithError(("layer differs from the naive loop: " + std::to_string(err)).c_str());
    state.counters["check_err"] = err;
  }
  for (auto _ : state) {
    Var<T> h = f.prefix();
    const auto t0 = Clock::now();
    Var<T> y = f.layer(h);
    benchmark::DoNotOptimize(y.value().data());
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double S = 4;
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * S * double(P) * double(w * w) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["rows"] = S * double(P);
}

// ---- One layer reverse -------------------------------------------------------------------------------------

// The reverse sweep of the layer, as Tape::backward_node runs it for Unary then Affine.
template <class T>
void layer_reverse(const StreamSet& ss, Index P, Index w, const Tensor<T>& h, const Tensor<T>& z, const Tensor<T>& y,
                   const Tensor<T>& dy, Tensor<T>& dz, Tensor<T>& dh, ConstMatView<T> W, MatView<T> dW, MatView<T> db) {
  dz.set_zero();
  unary_jet_backward_cpu<T>(Activation::Tanh, 0, ss, P * w, z.data(), y.data(), dy.data(), dz.data());
  dW.noalias() += dz.mat().transpose() * h.mat();
  db.row(0) += dz.block_rows(0, P).colwise().sum();
  dh.mat().noalias() += dz.mat() * W;
}

template <class T>
void BM_LayerReverse(benchmark::State& state) {
  const Index P = state.range(0), w = state.range(1);
  LayerFixture<T> f(P, w);
  const StreamSet& ss = *f.streams;
  const int S = ss.size();
  // loss = sum_s mean(y_s * C_s): its adjoint at y_s is C_s / (P w), a dense dy on every stream.
  std::vector<RowMat<T>> C(static_cast<std::size_t>(S), RowMat<T>(P, w));
  for (int s = 0; s < S; ++s) fill_random(C[static_cast<std::size_t>(s)].data(), P * w, 20 + static_cast<std::uint64_t>(s));
  Var<T> h = f.prefix();
  Var<T> z = f.tape.affine(h, f.w1, f.b1);
  Var<T> y = f.tape.unary(z, Activation::Tanh);
  Var<T> loss;
  for (int s = 0; s < S; ++s) {
    Var<T> term = mean(y.d(ss.stream(s).name) * f.tape.constant(C[static_cast<std::size_t>(s)]));
    loss = s == 0 ? term : loss + term;
  }
  f.params.zero_grad();
  f.tape.backward(loss);
  const RowMat<T> dW_tape = std::as_const(f.params).grad(f.w1);
  const RowMat<T> db_tape = std::as_const(f.params).grad(f.b1);
  Tensor<T> dy(S * P, w), dz(S * P, w), dh(S * P, w);
  for (int s = 0; s < S; ++s) dy.block_rows(s * P, P) = C[static_cast<std::size_t>(s)] / T(double(P) * double(w));
  RowMat<T> dW = RowMat<T>::Zero(w, w), db = RowMat<T>::Zero(1, w);
  dh.set_zero();
  auto run = [&] {
    layer_reverse<T>(ss, P, w, h.value(), z.value(), y.value(), dy, dz, dh, std::as_const(f.params).value(f.w1),
                     MatView<T>(dW.data(), w, w), MatView<T>(db.data(), 1, w));
  };
  run();
  // Check: the same gradients as the tape's reverse sweep (same operations; only the order of sums may differ).
  const double scale = dW_tape.cwiseAbs().maxCoeff() + db_tape.cwiseAbs().maxCoeff();
  const double err = ((dW - dW_tape).cwiseAbs().maxCoeff() + (db - db_tape).cwiseAbs().maxCoeff()) / scale;
  if (!(err <= TOL<T>)) state.SkipWithError(("reverse sweep differs from the tape's: " + std::to_string(err)).c_str());
  state.counters["check_err"] = err;
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * S * double(P) * double(w * w) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// ---- Jet rules ---------------------------------------------------------------------------------------------

// The rule program evaluated naively in float64 (the specification the kernel implements).
void jet_rule_reference(Activation a, const StreamSet& ss, Index n, const double* x, double* y) {
  const Index S = ss.size();
  for (Index i = 0; i < n; ++i) {
    double d[5];
    activation_derivs(a, x[i], 0, d, 3);
    y[i] = d[0];
    for (Index s = 1; s < S; ++s) {
      double acc = 0;
      for (const RuleTerm& t : ss.unary_program()[static_cast<std::size_t>(s)]) {
        double v = t.coef * d[t.k];
        for (int q = 0; q < t.nf; ++q) v *= x[t.factor[q] * n + i];
        acc += v;
      }
      y[s * n + i] = acc;
    }
  }
}
// Its adjoint: dx_0 = sum_s dy_s sum_terms coef f^(k+1) prod(x_f); dx_f += dy_s coef f^(k) prod(other factors).
void jet_rule_backward_reference(Activation a, const StreamSet& ss, Index n, const double* x, const double* dy, double* dx) {
  const Index S = ss.size();
  for (Index i = 0; i < n; ++i) {
    double d[5];
    activation_derivs(a, x[i], 0, d, 4);
    dx[i] += dy[i] * d[1];
    for (Index s = 1; s < S; ++s) {
      const double g = dy[s * n + i];
      for (const RuleTerm& t : ss.unary_program()[static_cast<std::size_t>(s)]) {
        double prod = t.coef;
        for (int q = 0; q < t.nf; ++q) prod *= x[t.factor[q] * n + i];
        dx[i] += g * prod * d[t.k + 1];
        for (int q = 0; q < t.nf; ++q) {
          double other = t.coef * d[t.k];
          for (int r = 0; r < t.nf; ++r)
            if (r != q) other *= x[t.factor[r] * n + i];
          dx[t.factor[q] * n + i] += g * other;
        }
      }
    }
  }
}

double jet_rule_flops_per_element(const StreamSet& ss) {
  double f = 0;
  for (const auto& terms : ss.unary_program())
    for (const RuleTerm& t : terms) f += t.nf + 2;  // nf factors and f^(k): nf + 1 multiplies (coef folded), 1 add
  return f;
}

template <class T>
void BM_JetRule(benchmark::State& state) {
  const Activation act = static_cast<Activation>(state.range(0));
  const int set = static_cast<int>(state.range(1));
  const Index n = state.range(2);  // points x width values per stream
  StreamSetPtr ss = stream_set(set);
  const Index S = ss->size();
  std::vector<T, Eigen::aligned_allocator<T>> x(static_cast<std::size_t>(S * n)), y(x.size());
  fill_random(x.data(), S * n, 3);
  unary_jet_forward_cpu<T>(act, 0, *ss, n, x.data(), y.data());
  {
    const Index m = std::min<Index>(n, 4096);  // check the first m elements of every stream
    std::vector<double> xd(static_cast<std::size_t>(S * m)), yd(xd.size());
    for (Index s = 0; s < S; ++s)
      for (Index i = 0; i < m; ++i) xd[static_cast<std::size_t>(s * m + i)] = double(x[static_cast<std::size_t>(s * n + i)]);
    jet_rule_reference(act, *ss, m, xd.data(), yd.data());
    double err = 0;
    for (Index s = 0; s < S; ++s)
      for (Index i = 0; i < m; ++i)
        err = std::max(err, rel_err(double(y[static_cast<std::size_t>(s * n + i)]), yd[static_cast<std::size_t>(s * m + i)], 1e-2));
    if (!(err <= TOL<T>)) state.SkipWithError(("jet rule differs from the reference: " + std::to_string(err)).c_str());
    state.counters["check_err"] = err;
  }
  for (auto _ : state) {
    unary_jet_forward_cpu<T>(act, 0, *ss, n, x.data(), y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(activation_name(act)) + " " + stream_set_name(set) + " (" + std::to_string(S) + " streams)");
  state.counters["GFLOP/s"] = benchmark::Counter(jet_rule_flops_per_element(*ss) * double(n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(2.0 * double(S * n) * sizeof(T) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_JetRuleBackward(benchmark::State& state) {
  const Activation act = static_cast<Activation>(state.range(0));
  const int set = static_cast<int>(state.range(1));
  const Index n = state.range(2);
  StreamSetPtr ss = stream_set(set);
  const Index S = ss->size();
  using Vec = std::vector<T, Eigen::aligned_allocator<T>>;
  Vec x(static_cast<std::size_t>(S * n)), y(x.size()), dy(x.size()), dx(x.size(), T(0));
  fill_random(x.data(), S * n, 3);
  fill_random(dy.data(), S * n, 4);
  unary_jet_forward_cpu<T>(act, 0, *ss, n, x.data(), y.data());
  unary_jet_backward_cpu<T>(act, 0, *ss, n, x.data(), y.data(), dy.data(), dx.data());
  {
    const Index m = std::min<Index>(n, 4096);
    std::vector<double> xd(static_cast<std::size_t>(S * m)), dyd(xd.size()), dxd(xd.size(), 0.0);
    for (Index s = 0; s < S; ++s)
      for (Index i = 0; i < m; ++i) {
        xd[static_cast<std::size_t>(s * m + i)] = double(x[static_cast<std::size_t>(s * n + i)]);
        dyd[static_cast<std::size_t>(s * m + i)] = double(dy[static_cast<std::size_t>(s * n + i)]);
      }
    jet_rule_backward_reference(act, *ss, m, xd.data(), dyd.data(), dxd.data());
    double err = 0;
    for (Index s = 0; s < S; ++s)
      for (Index i = 0; i < m; ++i)
        err = std::max(err, rel_err(double(dx[static_cast<std::size_t>(s * n + i)]), dxd[static_cast<std::size_t>(s * m + i)], 1e-1));
    if (!(err <= TOL<T>)) state.SkipWithError(("jet rule adjoint differs from the reference: " + std::to_string(err)).c_str());
    state.counters["check_err"] = err;
  }
  for (auto _ : state) {
    unary_jet_backward_cpu<T>(act, 0, *ss, n, x.data(), y.data(), dy.data(), dx.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(activation_name(act)) + " " + stream_set_name(set) + " (" + std::to_string(S) + " streams)");
  // Adjoint work: about twice the forward rule's (each term differentiated in each factor and in f^(k)).
  state.counters["GFLOP/s"] = benchmark::Counter(2 * jet_rule_flops_per_element(*ss) * double(n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(5.0 * double(S * n) * sizeof(T) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- Reference GEMM ----------------------------------------------------------------------------------------

// Eigen's product (the linked BLAS when built with one) on the layer shapes, rows = 4 streams x P:
// shape 0 forward Y = X W^T, 1 weight gradient dW = dY^T X, 2 input gradient dX = dY W.
template <class T>
void BM_GemmBlas(benchmark::State& state) {
  bench::LayerGemm<T> g(4 * state.range(0), state.range(1), state.range(1), static_cast<int>(state.range(2)));
  g.run();
  if (!(g.check_rel_err() <= g.tolerance())) state.SkipWithError("GEMM check failed");
  for (auto _ : state) {
    g.run();
    benchmark::ClobberMemory();
  }
  state.SetLabel(JETPINN_BLAS_NAME);
  state.counters["GFLOP/s"] = benchmark::Counter(g.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_GemmEigen(benchmark::State& state) {
  const Index rows = 4 * state.range(0), w = state.range(1);
  bench::EigenNativeGemm<T> g(rows, w, w);
  if (!g.check()) state.SkipWithError("GEMM check failed");
  for (auto _ : state) g.run();
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(rows) * double(w * w) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void register_all(bool sweep) {
  using benchmark::RegisterBenchmark;
  const std::vector<std::int64_t> points = sweep ? std::vector<std::int64_t>{1024, 4096, 16384, 65536} : std::vector<std::int64_t>{4096};
  const std::vector<std::int64_t> widths = sweep ? std::vector<std::int64_t>{64, 128, 256} : std::vector<std::int64_t>{128};
  const std::vector<std::int64_t> sets = sweep ? std::vector<std::int64_t>{0, 1, 2} : std::vector<std::int64_t>{0};
  const std::vector<std::int64_t> acts = {static_cast<std::int64_t>(Activation::Tanh), static_cast<std::int64_t>(Activation::Sin)};
  auto per_precision = [&](auto tag, const std::string& t) {
    using T = decltype(tag);
    RegisterBenchmark(("BM_JetLayer<" + t + ">").c_str(), BM_JetLayer<T>)->ArgsProduct({points, widths})
        ->ArgNames({"points", "width"})->UseManualTime()->Unit(benchmark::kMillisecond);
    RegisterBenchmark(("BM_LayerReverse<" + t + ">").c_str(), BM_LayerReverse<T>)->ArgsProduct({points, widths})
        ->ArgNames({"points", "width"})->UseRealTime()->Unit(benchmark::kMillisecond);
    std::vector<std::int64_t> elems;
    for (auto p : points) elems.push_back(p * 128);
    RegisterBenchmark(("BM_JetRule<" + t + ">").c_str(), BM_JetRule<T>)->ArgsProduct({acts, sets, elems})
        ->ArgNames({"act", "set", "n"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    RegisterBenchmark(("BM_JetRuleBackward<" + t + ">").c_str(), BM_JetRuleBackward<T>)->ArgsProduct({acts, sets, elems})
        ->ArgNames({"act", "set", "n"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    RegisterBenchmark(("BM_GemmBlas<" + t + ">").c_str(), BM_GemmBlas<T>)->ArgsProduct({points, widths, {0, 1, 2}})
        ->ArgNames({"points", "width", "shape"})->UseRealTime()->Unit(benchmark::kMillisecond);
    RegisterBenchmark(("BM_GemmEigen<" + t + ">").c_str(), BM_GemmEigen<T>)->ArgsProduct({points, widths})
        ->ArgNames({"points", "width"})->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  per_precision(float{}, "float");
  per_precision(double{}, "double");
}

}  // namespace

int main(int argc, char** argv) { return jetpinn::bench::sweep_main(argc, argv, register_all); }
