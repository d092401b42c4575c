// The fused backward with batch statistics (fused_mlp_backward_stats through DeviceMlp::backward_stats) on fresh
// random networks and points, several shapes and batch counts (ragged batches, one point per batch, one batch):
//  - G, S1, S2 of every parameter entry against a float64 brute force over the device's own saved dz_l, h_l
//    (those are checked against the CPU tape in test_stats_mlp.cpp), for both StatsPath::Fused and ::Separate;
//  - G (the full gradient) and grads() against the CPU tape's gradient;
//  - the per-layer SNR from the device sums against core/grad_stats (GradStats on the CPU tape, its own batch
//    split) where B >= 2.
// Tolerances: 1e-12 / 1e-5 normwise per layer's parameters (cuda_test_helpers.h); SNR relative 1e-10 / 1e-4 (a ratio of norms of sums,
// float32's S1 error of ~1e-6 relative enters squared-then-rooted, with margin).
// Per-sample squared norms (fused_mlp_backward_stats's sample_sq) against a float64 brute force that forms each
// point's g_i = sum_s dz_{s,i}^T a_{s,i} explicitly from the sweep's own dz and the forward's h, and its squared
// Frobenius norm (not the Gram identity the kernel uses); every entry relative, 1e-12 / 1e-5 (the kernel sums in
// double from the same T values, so float's error is also only the order of the double sums); two runs give the
// same bits, and G, S1, S2 are the same bits with and without sample_sq.
#include <cmath>
#include <cstring>

#include "batch_stats_rule.h"
#include "cuda_test_helpers.h"
#include "device_mlp.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {

struct StatsCase {
  int width, depth, outputs;
  StreamSetPtr streams;
  Index P;
  int B;
};

// G, S1, S2 per flat parameter entry from the layers' adjoints and inputs, in double.
void brute_force(const FusedMlpShape& sh, int S, Index P, const std::vector<double>& x, const std::vector<double>& dy,
                 const std::vector<double>& h, const std::vector<double>& dz, const std::vector<Index>& off,
                 std::vector<double>& G, std::vector<double>& S1, std::vector<double>& S2) {
  const std::size_t n = static_cast<std::size_t>(fused_param_count(sh));
  G.assign(n, 0.0);
  S1.assign(n, 0.0);
  S2.assign(n, 0.0);
  const Index block = S * P * sh.width;
  const int B = static_cast<int>(off.size()) - 1;
  for (int l = 0; l <= sh.depth; ++l) {
    const int in = l == 0 ? sh.inputs : sh.width, out = l == sh.depth ? sh.outputs : sh.width;
    const double* adj = l == sh.depth ? dy.data() : dz.data() + l * block;
    const double* a = l == 0 ? x.data() : h.data() + (l - 1) * block;
    const Index w0 = fused_w_offset(sh, l), b0 = fused_b_offset(sh, l);
    std::vector<double> gw(static_cast<std::size_t>(out * in)), gb(static_cast<std::size_t>(out));
    for (int b = 0; b < B; ++b) {
      std::fill(gw.begin(), gw.end(), 0.0);
      std::fill(gb.begin(), gb.end(), 0.0);
      for (int s = 0; s < S; ++s)
        for (Index i = off[static_cast<std::size_t>(b)]; i < off[static_cast<std::size_t>(b) + 1]; ++i) {
          const Index r = s * P + i;
          for (int o = 0; o < out; ++o) {
            const double g = adj[r * out + o];
            if (s == 0) gb[static_cast<std::size_t>(o)] += g;
            for (int k = 0; k < in; ++k) gw[static_cast<std::size_t>(o * in + k)] += g * a[r * in + k];
          }
        }
      const double c = static_cast<double>(P) / static_cast<double>(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)]);
      auto add = [&](Index base, const std::vector<double>& gv) {
        for (std::size_t e = 0; e < gv.size(); ++e) {
          const std::size_t k = static_cast<std::size_t>(base) + e;
          G[k] += gv[e];
          S1[k] += c * gv[e];
          S2[k] += c * gv[e] * c * gv[e];
        }
      };
      add(w0, gw);
      add(b0, gb);
    }
  }
}

// The CPU tape's gradient of L = sum_s <out_s, R_s> and, with B >= 2 batches, core/grad_stats's SNR.
GradSnr cpu_tape(Mlp<double>& mlp, const StreamSetPtr& streams, const RowMat<double>& pts, const std::vector<double>& R,
                 int B, std::vector<double>& grads) {
  Tape<double> tape(&mlp.params());
  GradStats<double> gs;
  tape.set_grad_stats(&gs);
  tape.set_batched(true);
  Var<double> out = mlp.forward(tape, tape.input(pts, streams));
  tape.set_batched(false);
  const Index P = pts.rows();
  Var<double> loss;
  for (int s = 0; s < streams->size(); ++s) {
    RowMat<double> r(P, out.cols());
    for (Index i = 0; i < r.size(); ++i) r.data()[i] = R[static_cast<std::size_t>(s * P * out.cols() + i)];
    Var<double> term = sum(tape.component(out, s) * tape.constant(r));
    loss = s == 0 ? term : loss + term;
  }
  mlp.params().zero_grad();
  GradStatsConfig cfg;
  cfg.batches = B;
  GradSnr snr;
  if (B >= 2) gs.begin(mlp.params(), cfg);
  tape.backward(loss);
  if (B >= 2) snr = gs.finish(mlp.params());
  grads.assign(mlp.params().grads(), mlp.params().grads() + mlp.params().size());
  return snr;
}

// Per weight matrix, SNR = |mu| / |sigma| from the device sums, as GradStats::finish (no boundary part here).
std::vector<double> layer_snr(const FusedMlpShape& sh, int B, const std::vector<double>& S1, const std::vector<double>& S2) {
  std::vector<double> snr;
  for (int l = 0; l <= sh.depth; ++l) {
    const Index w0 = fused_w_offset(sh, l), n = fused_b_offset(sh, l) - w0;
    double m2 = 0, v2 = 0;
    for (Index e = 0; e < n; ++e) {
      const double mean = S1[static_cast<std::size_t>(w0 + e)] / B;
      m2 += mean * mean;
      v2 += std::max(0.0, S2[static_cast<std::size_t>(w0 + e)] / B - mean * mean);
    }
    snr.push_back(std::sqrt(m2 / v2));
  }
  return snr;
}

// One block per layer (its weight matrix and bias vector) of the fused layout, each compared with its own norm
// (see ct::param_blocks for why a layer's W and b go together).
ct::Blocks fused_blocks(const FusedMlpShape& sh) {
  ct::Blocks b;
  for (int l = 0; l <= sh.depth; ++l) {
    const int out = l == sh.depth ? sh.outputs : sh.width;
    b.push_back(static_cast<std::size_t>(fused_b_offset(sh, l) - fused_w_offset(sh, l) + out));
  }
  return b;
}

template <class T>
void run_case(const StatsCase& sc, int seed) {
  {
    MlpConfig cfg;
    cfg.inputs = 2;
    cfg.width = sc.width;
    cfg.depth = sc.depth;
    cfg.outputs = sc.outputs;
    Mlp<T> mlp(cfg, static_cast<std::uint64_t>(seed++));
    Mlp<double> ref(cfg, 1);
    ref.copy_params_from(mlp);
    const int S = sc.streams->size();
    const auto pts = ct::random_data<T>(static_cast<std::size_t>(sc.P * 2), static_cast<std::uint64_t>(seed++));
    RowMat<double> pts_d(sc.P, 2);
    RowMat<T> pts_t(sc.P, 2);
    for (Index i = 0; i < pts_d.size(); ++i) {
      pts_d.data()[i] = pts.d[static_cast<std::size_t>(i)];
      pts_t.data()[i] = pts.t[static_cast<std::size_t>(i)];
    }
    const auto R = ct::random_data<T>(static_cast<std::size_t>(S * sc.P * sc.outputs), static_cast<std::uint64_t>(seed++));
    const std::string what = std::to_string(sc.depth) + "x" + std::to_string(sc.width) + " [" + sc.streams->describe() +
                             "] P=" + std::to_string(sc.P) + " B=" + std::to_string(sc.B);

    DeviceMlp<T> dm(ct::ctx(), mlp, sc.streams);
    std::string why;
    REQUIRE_MESSAGE(dm.fused_stats_supported(&why), why);
    DeviceTensor<T> x(ct::ctx());
    x.upload(DeviceMlp<T>::input_jet(ConstMatView<T>(pts_t.data(), pts_t.rows(), pts_t.cols()), *sc.streams));
    auto dy = ct::upload(R.t, S * sc.P, sc.outputs);
    dm.forward(x, MlpPath::Fused);
    dm.backward(dy, MlpPath::Fused);
    const std::vector<double> xh = ct::download(x), hh = ct::download(dm.h()), dzh = ct::download(dm.dz());

    // Two splits: even_batches (the first P % B batches one point larger) and core/grad_stats's b P / B.
    std::vector<Index> core_off(static_cast<std::size_t>(sc.B) + 1);
    for (int b = 0; b <= sc.B; ++b) core_off[static_cast<std::size_t>(b)] = b * sc.P / sc.B;
    for (int split = 0; split < 2; ++split) {
      const std::vector<Index> off = split == 0 ? even_batches(sc.P, sc.B) : core_off;
      std::vector<double> G, S1, S2;
      brute_force(dm.shape(), S, sc.P, xh, R.d, hh, dzh, off, G, S1, S2);
      for (StatsPath sp : {StatsPath::Fused, StatsPath::Separate}) {
        const std::string w = what + (sp == StatsPath::Fused ? " fused" : " separate") + (split == 1 ? " (core split)" : "");
        dm.zero_grad();
        dm.backward_stats(dy, off, sp);
        const ct::Blocks pb = fused_blocks(dm.shape());
        ct::check_close(w + " G", ct::download(dm.stats_g()), G, ct::tol<T>(), pb);
        ct::check_close(w + " S1", ct::download(dm.stats_s1()), S1, ct::tol<T>(), pb);
        ct::check_close(w + " S2", ct::download(dm.stats_s2()), S2, ct::tol<T>(), pb);
        ct::check_close(w + " grads = G", ct::download(dm.grads()), G, ct::tol<T>(), pb);
      }
    }

    // Against the CPU tape and core/grad_stats (its split is core_off).
    std::vector<double> g_ref;
    const GradSnr snr = cpu_tape(ref, sc.streams, pts_d, R.d, sc.B, g_ref);
    dm.zero_grad();
    dm.backward_stats(dy, core_off, StatsPath::Fused);
    ct::check_close(what + " fused G vs the CPU tape's gradient", ct::download(dm.stats_g()), g_ref, ct::tol<T>(),
                    ct::param_blocks(ref.params()));
    if (sc.B >= 2) {
      const std::vector<double> got = layer_snr(dm.shape(), sc.B, ct::download(dm.stats_s1()), ct::download(dm.stats_s2()));
      REQUIRE(got.size() == snr.layer_snr.size());
      const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-4;
      for (std::size_t l = 0; l < got.size(); ++l) {
        const double e = std::abs(got[l] - snr.layer_snr[l]) / std::abs(snr.layer_snr[l]);
        MESSAGE(what << " layer " << l << " SNR " << got[l] << " vs core/grad_stats " << snr.layer_snr[l]
                     << ": relative error " << e << " (" << 100.0 * e / tol << "% of tolerance " << tol << ")");
        CHECK(e <= tol);
      }
    }
    // Warm: another fused statistics sweep allocates nothing new.
    ct::ctx().synchronize();
    const std::size_t raw = ct::ctx().pool().stats().raw_allocs;
    dm.backward_stats(dy, core_off, StatsPath::Fused);
    ct::ctx().synchronize();
    CHECK(ct::ctx().pool().stats().raw_allocs == raw);
  }
}

}  // namespace

// Every shape: 6 networks x 2 splits x {fused, separate}, float and double.
TEST_CASE_TEMPLATE("fused backward statistics: G, S1, S2 match a brute force and core/grad_stats", T, float, double) {
  auto ac = StreamSet::make({"t", "x"}, {"t", "xx"});
  auto lap = StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"});
  auto full = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"});
  const std::vector<StatsCase> cases = {{32, 3, 1, ac, 37, 5},   {128, 4, 1, ac, 300, 7},  {50, 2, 2, lap, 100, 100},
                                        {128, 2, 1, full, 129, 1}, {64, 3, 1, ac, 1000, 10}, {128, 2, 1, lap, 61, 60}};
  int seed = 200;
  for (const StatsCase& sc : cases) run_case<T>(sc, seed += 10);
}

// One small ragged case under a name tools/gpu-check.sh's racecheck selects ('*batch statistics*').
TEST_CASE_TEMPLATE("fused batch statistics: a small ragged case (racecheck)", T, float, double) {
  run_case<T>({48, 2, 1, StreamSet::make({"t", "x"}, {"t", "xx"}), 45, 4}, 300);
}

TEST_CASE("fused batch statistics: bad batch offsets are refused with what was expected") {
  MlpConfig cfg;
  cfg.width = 16;
  cfg.depth = 1;
  Mlp<float> mlp(cfg, 1);
  auto streams = StreamSet::make({"x", "y"}, {"xx"});
  DeviceMlp<float> dm(ct::ctx(), mlp, streams);
  RowMat<float> pts = RowMat<float>::Random(10, 2);
  DeviceTensor<float> x(ct::ctx());
  x.upload(DeviceMlp<float>::input_jet(ConstMatView<float>(pts.data(), pts.rows(), pts.cols()), *streams));
  dm.forward(x, MlpPath::Fused);
  DeviceTensor<float> dy(ct::ctx(), streams->size() * 10, 1);
  dy.set_zero();
  CHECK_THROWS_WITH_AS(dm.backward_stats(dy, {0, 5, 9}, StatsPath::Fused), doctest::Contains("from 0 to the point count"),
                       Error);
  CHECK_THROWS_WITH_AS(dm.backward_stats(dy, {0, 5, 5, 10}, StatsPath::Fused), doctest::Contains("is empty"), Error);
}

namespace {

// sum_i ||g_i||^2 per parameter group (layer0.W, layer0.b, ...), in double, g_i formed as a matrix.
std::vector<double> brute_force_sample_sq(const FusedMlpShape& sh, int S, Index P, const std::vector<double>& x,
                                          const std::vector<double>& dy, const std::vector<double>& h,
                                          const std::vector<double>& dz) {
  std::vector<double> sq(static_cast<std::size_t>(2 * (sh.depth + 1)), 0.0);
  const Index block = S * P * sh.width;
  for (int l = 0; l <= sh.depth; ++l) {
    const int in = l == 0 ? sh.inputs : sh.width, out = l == sh.depth ? sh.outputs : sh.width;
    const double* adj = l == sh.depth ? dy.data() : dz.data() + l * block;
    const double* a = l == 0 ? x.data() : h.data() + (l - 1) * block;
    std::vector<double> gi(static_cast<std::size_t>(out * in));
    double w = 0, b = 0;
    for (Index i = 0; i < P; ++i) {
      std::fill(gi.begin(), gi.end(), 0.0);
      for (int s = 0; s < S; ++s) {
        const Index r = s * P + i;
        for (int o = 0; o < out; ++o)
          for (int k = 0; k < in; ++k) gi[static_cast<std::size_t>(o * in + k)] += adj[r * out + o] * a[r * in + k];
      }
      for (double v : gi) w += v * v;
      for (int o = 0; o < out; ++o) b += adj[i * out + o] * adj[i * out + o];  // value stream: rows 0..P-1
    }
    sq[static_cast<std::size_t>(2 * l)] = w;
    sq[static_cast<std::size_t>(2 * l + 1)] = b;
  }
  return sq;
}

template <class T>
bool same_bits(const DeviceTensor<T>& a, const DeviceTensor<T>& b) {
  const std::vector<T> ha = a.to_host(), hb = b.to_host();
  return ha.size() == hb.size() && std::memcmp(ha.data(), hb.data(), ha.size() * sizeof(T)) == 0;
}

template <class T>
void run_sample_sq_case(const StatsCase& sc, int seed) {
  MlpConfig cfg;
  cfg.inputs = 2;
  cfg.width = sc.width;
  cfg.depth = sc.depth;
  cfg.outputs = sc.outputs;
  Mlp<T> mlp(cfg, static_cast<std::uint64_t>(seed++));
  const int S = sc.streams->size();
  const auto pts = ct::random_data<T>(static_cast<std::size_t>(sc.P * 2), static_cast<std::uint64_t>(seed++));
  RowMat<T> pts_t(sc.P, 2);
  for (Index i = 0; i < pts_t.size(); ++i) pts_t.data()[i] = pts.t[static_cast<std::size_t>(i)];
  const auto R = ct::random_data<T>(static_cast<std::size_t>(S * sc.P * sc.outputs), static_cast<std::uint64_t>(seed++));
  const std::string what = std::to_string(sc.depth) + "x" + std::to_string(sc.width) + " S=" + std::to_string(S) +
                           " P=" + std::to_string(sc.P) + " B=" + std::to_string(sc.B);

  DeviceMlp<T> dm(ct::ctx(), mlp, sc.streams);
  std::string why;
  REQUIRE_MESSAGE(dm.fused_stats_supported(&why), why);
  DeviceTensor<T> x(ct::ctx());
  x.upload(DeviceMlp<T>::input_jet(ConstMatView<T>(pts_t.data(), pts_t.rows(), pts_t.cols()), *sc.streams));
  auto dy = ct::upload(R.t, S * sc.P, sc.outputs);
  dm.forward(x, MlpPath::Fused);

  const FusedMlpShape& sh = dm.shape();
  const FlatRules rules = flatten_unary(*sc.streams);
  const Index n = fused_param_count(sh);
  const int nsq = 2 * (sh.depth + 1);
  const std::vector<Index> off = even_batches(sc.P, sc.B);
  struct Out {
    DeviceTensor<T> dz, G, S1;
    DeviceTensor<double> S2, sq;
  };
  auto sweep = [&](bool with_sq) {
    Out o{DeviceTensor<T>(ct::ctx(), sh.depth * S * sc.P, sh.width), DeviceTensor<T>(ct::ctx(), n, 1),
          DeviceTensor<T>(ct::ctx(), n, 1), DeviceTensor<double>(ct::ctx(), n, 1),
          DeviceTensor<double>(ct::ctx(), nsq, 1)};
    o.sq.set_zero();
    fused_mlp_backward_stats<T>(ct::ctx(), sh, rules, sc.P, dm.params().data(), x.data(), dy.data(), dm.z().data(),
                                dm.h().data(), o.dz.data(), off, o.G.data(), o.S1.data(), o.S2.data(),
                                with_sq ? o.sq.data() : nullptr);
    ct::ctx().synchronize();
    return o;
  };
  const Out a = sweep(true), b = sweep(true), plain = sweep(false);

  const std::vector<double> xh = ct::download(x), hh = ct::download(dm.h()), dzh = ct::download(a.dz);
  const std::vector<double> want = brute_force_sample_sq(sh, S, sc.P, xh, R.d, hh, dzh);
  const std::vector<double> got = ct::download(a.sq);
  REQUIRE(got.size() == want.size());
  for (std::size_t e = 0; e < want.size(); ++e) {
    REQUIRE(want[e] > 0);  // random inputs: every group has a non-zero per-sample gradient
    ct::check_close(what + " layer " + std::to_string(e / 2) + (e % 2 ? " bias" : " weight") + " sum_i ||g_i||^2",
                    {got[e]}, {want[e]}, ct::tol<T>());
  }
  // The statistics beside it are still right (same brute force as above).
  std::vector<double> G, S1, S2;
  brute_force(sh, S, sc.P, xh, R.d, hh, dzh, off, G, S1, S2);
  ct::check_close(what + " G (with sample_sq)", ct::download(a.G), G, ct::tol<T>(), fused_blocks(sh));
  ct::check_close(what + " S2 (with sample_sq)", ct::download(a.S2), S2, ct::tol<T>(), fused_blocks(sh));
  CHECK_MESSAGE(same_bits(a.sq, b.sq), what << ": sample_sq differs between two identical runs");
  CHECK_MESSAGE(same_bits(a.G, b.G), what << ": G differs between two identical runs");
  const bool unchanged = same_bits(a.G, plain.G) && same_bits(a.S1, plain.S1) && same_bits(a.S2, plain.S2) &&
                         same_bits(a.dz, plain.dz);
  CHECK_MESSAGE(unchanged, what << ": G, S1, S2 or dz change when sample_sq is requested");
}

}  // namespace

// S = 1, 4, 6 streams; widths 16 and 128; ragged P and batches; the last case has chunks of several tiles (the
// partials' add path: P = 6001 at S = 6 is ~600 float tiles, > 2 x SMs).
TEST_CASE_TEMPLATE("fused batch statistics: per-sample squared norms match a brute force, deterministic", T, float,
                   double) {
  auto one = StreamSet::value_only();
  auto four = StreamSet::make({"t", "x"}, {"t", "xx"});
  auto six = StreamSet::make({"x", "y"}, {"xx", "xy", "yy"});
  REQUIRE(one->size() == 1);
  REQUIRE(four->size() == 4);
  REQUIRE(six->size() == 6);
  const std::vector<StatsCase> cases = {{16, 3, 1, one, 37, 5},   {128, 2, 1, one, 300, 7},  {16, 2, 2, four, 61, 60},
                                        {128, 3, 1, four, 129, 1}, {128, 2, 1, six, 101, 4}, {16, 2, 1, six, 6001, 3}};
  int seed = 500;
  for (const StatsCase& sc : cases) run_sample_sq_case<T>(sc, seed += 10);
}
