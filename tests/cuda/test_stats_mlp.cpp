// Batch-gradient statistics and per-sample norms against a brute force written here, and whole jet MLPs on the
// device (fused kernels and the cuBLAS path) against the CPU tape (Mlp::forward, Tape::backward) in float64:
// every output stream and every layer's gradient against its own norm, to 1e-12 / 1e-5 or twice the CPU tape's
// own error in T there, where float32's conditioning puts that higher (ct::check_close_peer).
#include "batch_stats.h"
#include "cuda_test_helpers.h"
#include "device_mlp.h"
#include "elementwise.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

TEST_CASE_TEMPLATE("batch statistics and per-sample norms match a brute force", T, float, double) {
  struct Case {
    int S;
    std::ptrdiff_t P, in, out;
    int B;
  };
  for (const Case& c : {Case{4, 100, 5, 3, 10}, Case{4, 103, 5, 3, 7}, Case{9, 1000, 128, 128, 8}, Case{1, 37, 2, 1, 37}}) {
    const std::ptrdiff_t R = c.S * c.P;
    const auto dy = ct::random_data<T>(static_cast<std::size_t>(R * c.out), 1);
    const auto a = ct::random_data<T>(static_cast<std::size_t>(R * c.in), 2);
    const auto off = even_batches(c.P, c.B);
    const std::size_t E = static_cast<std::size_t>(c.out * c.in);
    std::vector<double> G(E, 0), S1(E, 0), S2(E, 0), Gb(E), bG(static_cast<std::size_t>(c.out), 0), bS1 = bG, bS2 = bG;
    for (int b = 0; b < c.B; ++b) {
      const std::ptrdiff_t n = off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)];
      const double cb = static_cast<double>(c.P) / static_cast<double>(n);
      std::fill(Gb.begin(), Gb.end(), 0.0);
      std::vector<double> gbias(static_cast<std::size_t>(c.out), 0.0);
      for (int s = 0; s < c.S; ++s)
        for (std::ptrdiff_t i = off[static_cast<std::size_t>(b)]; i < off[static_cast<std::size_t>(b) + 1]; ++i) {
          const std::ptrdiff_t r = s * c.P + i;
          for (std::ptrdiff_t o = 0; o < c.out; ++o) {
            const double g = dy.d[static_cast<std::size_t>(r * c.out + o)];
            if (s == 0) gbias[static_cast<std::size_t>(o)] += g;
            for (std::ptrdiff_t k = 0; k < c.in; ++k) Gb[static_cast<std::size_t>(o * c.in + k)] += g * a.d[static_cast<std::size_t>(r * c.in + k)];
          }
        }
      for (std::size_t j = 0; j < E; ++j) {
        G[j] += Gb[j];
        S1[j] += cb * Gb[j];
        S2[j] += cb * Gb[j] * cb * Gb[j];
      }
      for (std::size_t o = 0; o < gbias.size(); ++o) {
        bG[o] += gbias[o];
        bS1[o] += cb * gbias[o];
        bS2[o] += cb * gbias[o] * cb * gbias[o];
      }
    }
    auto dyd = ct::upload(dy.t, R, c.out), ad = ct::upload(a.t, R, c.in);
    DeviceTensor<T> Gd(ct::ctx(), c.out, c.in), S1d(ct::ctx(), c.out, c.in), bGd(ct::ctx(), 1, c.out), bS1d(ct::ctx(), 1, c.out);
    DeviceTensor<double> S2d(ct::ctx(), c.out, c.in), bS2d(ct::ctx(), 1, c.out);
    batch_grad_stats<T>(ct::ctx(), c.S, c.P, c.in, c.out, dyd.data(), ad.data(), off, Gd.data(), S1d.data(), S2d.data());
    batch_bias_stats<T>(ct::ctx(), c.P, c.out, dyd.data(), off, bGd.data(), bS1d.data(), bS2d.data());
    const std::string what = "stats S=" + std::to_string(c.S) + " P=" + std::to_string(c.P) + " B=" + std::to_string(c.B);
    ct::check_close(what + " G", ct::download(Gd), G, ct::tol<T>());
    ct::check_close(what + " S1", ct::download(S1d), S1, ct::tol<T>());
    ct::check_close(what + " S2", ct::download(S2d), S2, ct::tol<T>());
    ct::check_close(what + " bias G", ct::download(bGd), bG, ct::tol<T>());
    ct::check_close(what + " bias S1", ct::download(bS1d), bS1, ct::tol<T>());
    ct::check_close(what + " bias S2", ct::download(bS2d), bS2, ct::tol<T>());

    // Per-sample: g_i = sum_s dy_{s,i}^T a_{s,i}, formed explicitly.
    std::vector<double> norms(static_cast<std::size_t>(c.P)), gi(E);
    double total = 0;
    for (std::ptrdiff_t i = 0; i < c.P; ++i) {
      std::fill(gi.begin(), gi.end(), 0.0);
      for (int s = 0; s < c.S; ++s)
        for (std::ptrdiff_t o = 0; o < c.out; ++o)
          for (std::ptrdiff_t k = 0; k < c.in; ++k)
            gi[static_cast<std::size_t>(o * c.in + k)] += dy.d[static_cast<std::size_t>((s * c.P + i) * c.out + o)] *
                                                          a.d[static_cast<std::size_t>((s * c.P + i) * c.in + k)];
      double nn = 0;
      for (double v : gi) nn += v * v;
      norms[static_cast<std::size_t>(i)] = nn;
      total += nn;
    }
    DeviceTensor<double> nd(ct::ctx(), c.P, 1), td(ct::ctx(), 1, 1);
    per_sample_sq_norms<T>(ct::ctx(), c.S, c.P, c.in, c.out, dyd.data(), ad.data(), nd.data(), td.data());
    ct::check_close(what + " per-sample norms", ct::download(nd), norms, ct::tol<T>());
    ct::check_close(what + " per-sample total", ct::download(td), {total}, ct::tol<T>());
  }
}

namespace {
struct NetCase {
  int inputs, width, depth, outputs;
  StreamSetPtr streams;
  Index P;
};
std::vector<NetCase> net_cases() {
  auto ac = StreamSet::make({"t", "x"}, {"t", "xx"});
  auto lap = StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"});
  auto full = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"});
  return {{2, 32, 3, 1, ac, 37}, {2, 128, 6, 1, ac, 1000}, {2, 50, 2, 2, lap, 100}, {2, 128, 2, 1, full, 129}};
}

// CPU reference: the tape's output jet, and the parameter gradient of L = sum_s <out_s, R_s> (so dL/dout = R), in
// U: float64 for the reference, T for the CPU's own error in the device's precision (ct::check_close_peer).
template <class U>
void cpu_reference(const Mlp<U>& mlp_in, const NetCase& nc, const RowMat<U>& pts, const std::vector<double>& R,
                   std::vector<double>& y, std::vector<double>& grads) {
  Mlp<U> mlp = mlp_in;
  Tape<U> tape(&mlp.params());
  Var<U> x = tape.input(pts, nc.streams);
  Var<U> out = mlp.forward(tape, x);
  const int S = nc.streams->size();
  y.assign(out.value().data(), out.value().data() + out.value().size());
  Var<U> loss;
  for (int s = 0; s < S; ++s) {
    RowMat<U> r(nc.P, out.cols());
    for (Index i = 0; i < r.size(); ++i) r.data()[i] = static_cast<U>(R[static_cast<std::size_t>(s * nc.P * out.cols() + i)]);
    Var<U> term = sum(tape.component(out, s) * tape.constant(r));
    loss = s == 0 ? term : loss + term;
  }
  mlp.params().zero_grad();
  tape.backward(loss);
  grads.assign(mlp.params().grads(), mlp.params().grads() + mlp.params().size());
}
}  // namespace

TEST_CASE_TEMPLATE("device MLP: fused and cuBLAS paths match the CPU tape (forward jets and gradients)", T, float, double) {
  for (const NetCase& nc : net_cases()) {
    MlpConfig cfg;
    cfg.inputs = nc.inputs;
    cfg.width = nc.width;
    cfg.depth = nc.depth;
    cfg.outputs = nc.outputs;
    Mlp<T> mlp(cfg, 42);
    Mlp<double> ref(cfg, 42);
    ref.copy_params_from(mlp);  // the exact same (T-rounded) parameters
    const int S = nc.streams->size();
    const auto pts = ct::random_data<T>(static_cast<std::size_t>(nc.P * nc.inputs), 3);
    RowMat<double> pts_d(nc.P, nc.inputs);
    RowMat<T> pts_t(nc.P, nc.inputs);
    for (Index i = 0; i < pts_d.size(); ++i) {
      pts_d.data()[i] = pts.d[static_cast<std::size_t>(i)];
      pts_t.data()[i] = pts.t[static_cast<std::size_t>(i)];
    }
    const auto R = ct::random_data<T>(static_cast<std::size_t>(S * nc.P * nc.outputs), 4);
    std::vector<double> y_ref, g_ref, y_cpu, g_cpu;
    cpu_reference(ref, nc, pts_d, R.d, y_ref, g_ref);
    cpu_reference(mlp, nc, pts_t, R.d, y_cpu, g_cpu);  // the CPU in T: the floor T itself sets per stream and layer
    const ct::Blocks streams = ct::equal_blocks(y_ref.size(), static_cast<std::size_t>(S));
    const ct::Blocks layers = ct::param_blocks(ref.params());

    DeviceMlp<T> dm(ct::ctx(), mlp, nc.streams);
    DeviceTensor<T> x(ct::ctx());
    x.upload(DeviceMlp<T>::input_jet(ConstMatView<T>(pts_t.data(), pts_t.rows(), pts_t.cols()), *nc.streams));
    auto dy = ct::upload(R.t, S * nc.P, nc.outputs);
    std::string why;
    REQUIRE_MESSAGE(dm.fused_supported(&why), why);
    for (MlpPath path : {MlpPath::Cublas, MlpPath::Fused}) {
      const std::string what = std::string(path == MlpPath::Fused ? "fused" : "cublas") + " " + std::to_string(nc.depth) +
                               "x" + std::to_string(nc.width) + " [" + nc.streams->describe() + "] P=" + std::to_string(nc.P);
      ct::check_close_peer(what + " forward", ct::download(dm.forward(x, path)), y_ref, y_cpu, ct::tol<T>(), streams);
      dm.zero_grad();
      dm.backward(dy, path);
      ct::check_close_peer(what + " gradients", ct::download(dm.grads()), g_ref, g_cpu, ct::tol<T>(), layers);
    }
    // Warm: a second step allocates nothing new.
    const std::size_t raw = ct::ctx().pool().stats().raw_allocs;
    dm.forward(x, MlpPath::Fused);
    dm.backward(dy, MlpPath::Fused);
    ct::ctx().synchronize();
    CHECK(ct::ctx().pool().stats().raw_allocs == raw);
  }
}

TEST_CASE("fused MLP: unsupported shapes are refused with what to do") {
  MlpConfig cfg;
  cfg.width = 256;
  cfg.depth = 2;
  Mlp<float> mlp(cfg, 1);
  DeviceMlp<float> dm(ct::ctx(), mlp, StreamSet::make({"x", "y"}, {"xx"}));
  std::string why;
  CHECK_FALSE(dm.fused_supported(&why));
  CHECK(why.find("width must be") != std::string::npos);
  CHECK(why.find("cuBLAS") != std::string::npos);
}
