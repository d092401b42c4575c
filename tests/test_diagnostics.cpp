// Diagnostics against brute force and hand-made cases: batch-gradient SNR (each batch's gradient formed
// explicitly by its own forward and reverse pass, float64), the per-sample variant, homogeneity, saturation and
// entropy, and the phase detector on synthetic traces shaped like the paper's.
#include <doctest/doctest.h>

#include <cmath>

#include "compression.h"
#include "homogeneity.h"
#include "phases.h"
#include "samplers.h"
#include "train.h"

using namespace jetpinn;

namespace {

MlpConfig small_net(bool modified) {
  MlpConfig c;
  c.inputs = 2;
  c.outputs = 2;
  c.depth = 2;
  c.width = 7;
  c.modified = modified;
  return c;
}

// A two-output, two-column residual over Laplacian and first-derivative streams, with per-point data, plus a
// boundary term: enough structure that every stream carries gradient.
std::vector<Term<double>> terms(Index n) {
  Term<double> r;
  r.name = "residual";
  r.is_pde = true;
  r.count = n;
  r.weight = 1.7;
  r.streams = StreamSet::make({"x", "y"}, {"x", "y", "lap"}, {"x", "y"});
  r.sample = [](Term<double>& t, Rng& rng) {
    t.points = latin_hypercube(Box{{-1, 0}, {1, 2}}, t.count, rng);
    t.data = t.points.col(0).array().sin().matrix();
  };
  r.residual = [](Var<double> out, Tape<double>& tape, const Term<double>& t) {
    Var<double> u = out.col(0), v = out.col(1);
    Var<double> r1 = u.d("lap") + u.d("") * v.d("") - tape.constant(t.data);
    Var<double> r2 = v.d("x") - tanh(u.d("y")) * 0.5;
    return concat_cols(r1, r2);
  };
  Term<double> b;
  b.name = "bc";
  b.count = 9;
  b.weight = 3.0;
  b.streams = StreamSet::value_only();
  b.sample = [](Term<double>& t, Rng& rng) { t.points = latin_hypercube(Box{{-1, 0}, {1, 2}}, t.count, rng); };
  b.residual = [](Var<double> out, Tape<double>&, const Term<double>&) { return out.col(0) - 0.25; };
  return {r, b};
}

// Gradient of: weight * mean over rows [b0, b1) of (lambda r)^2 + the other terms' full losses.
std::vector<double> batch_gradient(Mlp<double>& net, const std::vector<Term<double>>& ts, const RowMat<double>& lambda,
                                   bool rba, Index b0, Index b1) {
  Tape<double> tape(&net.params());
  net.params().zero_grad();
  Var<double> total;
  for (std::size_t t = 0; t < ts.size(); ++t) {
    Term<double> term = ts[t];
    RowMat<double> lam;
    if (term.is_pde) {
      term.points = ts[t].points.middleRows(b0, b1 - b0);
      term.data = ts[t].data.middleRows(b0, b1 - b0);
      term.count = b1 - b0;
      lam = lambda.middleRows(b0, b1 - b0);
    }
    Var<double> out = net.forward(tape, tape.input(term.points, term.streams));
    Var<double> r = term.residual(out, tape, term);
    Var<double> l = term.is_pde && rba ? mean(square(r * tape.constant(lam))) : mean(square(r));
    l = l * term.weight;
    total = t == 0 ? l : total + l;
  }
  tape.backward(total);
  return std::vector<double>(net.params().grads(), net.params().grads() + net.params().size());
}

struct Brute {
  double snr, phi;
  std::vector<double> layer_snr;
};

Brute brute_force(Mlp<double>& net, const std::vector<Term<double>>& ts, const RowMat<double>& lambda, bool rba,
                  Index B, bool biases) {
  const Index N = ts[0].points.rows();
  std::vector<std::vector<double>> g;
  for (Index b = 0; b < B; ++b) g.push_back(batch_gradient(net, ts, lambda, rba, b * N / B, (b + 1) * N / B));
  Brute out{};
  double mu2 = 0, var2 = 0;
  for (const ParamInfo& p : net.params().infos()) {
    if (p.is_bias && !biases) continue;
    double m2 = 0, v2 = 0;
    for (Index e = p.offset; e < p.offset + p.size(); ++e) {
      double mu = 0;
      for (const auto& gb : g) mu += gb[static_cast<std::size_t>(e)];
      mu /= static_cast<double>(B);
      double var = 0;
      for (const auto& gb : g) var += std::pow(gb[static_cast<std::size_t>(e)] - mu, 2);
      m2 += mu * mu;
      v2 += var / static_cast<double>(B);
    }
    out.layer_snr.push_back(std::sqrt(m2 / v2));
    mu2 += m2;
    var2 += v2;
  }
  out.snr = std::sqrt(mu2 / var2);
  out.phi = std::sqrt(mu2 / (mu2 + var2));
  return out;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

void check_against_brute(bool modified, bool rba, int batches, bool per_sample, bool biases) {
  CAPTURE(modified);
  CAPTURE(rba);
  CAPTURE(batches);
  CAPTURE(per_sample);
  CAPTURE(biases);
  const Index N = 37;  // ragged: 37 points do not split evenly
  Mlp<double> net(small_net(modified), 3);
  TrainOptions opt;
  opt.rba.enabled = rba;
  opt.rba.eta = 0.3;  // multipliers far from uniform after a few steps
  opt.adam.lr = 1e-2;
  GradStatsConfig c;
  c.batches = batches;
  c.per_sample = per_sample;
  c.include_biases = biases;
  opt.diagnostics.snr = c;
  opt.diagnostics.every = 1;
  Trainer<double> tr(net, terms(N), opt, 11);
  for (int i = 0; i < 4; ++i) CHECK(tr.step().diag.has_value());
  const GradSnr got = tr.gradient_stats(c);
  const std::vector<double> g_stats(net.params().grads(), net.params().grads() + net.params().size());
  tr.loss_and_gradient();
  for (Index e = 0; e < net.params().size(); ++e)  // the batched sweep gives the same full gradient
    CHECK(std::abs(g_stats[static_cast<std::size_t>(e)] - net.params().grads()[e]) <=
          1e-13 * (1 + std::abs(net.params().grads()[e])));
  const Brute want = brute_force(net, tr.terms(), tr.lambda(0), rba, per_sample ? N : batches, biases);
  CHECK(got.batches == (per_sample ? N : batches));
  CHECK(rel(got.snr, want.snr) < 1e-10);
  CHECK(rel(got.phi, want.phi) < 1e-10);
  CHECK(std::abs(got.phi - got.snr / std::sqrt(1 + got.snr * got.snr)) < 1e-12);
  REQUIRE(got.layer_snr.size() == want.layer_snr.size());
  for (std::size_t l = 0; l < want.layer_snr.size(); ++l) CHECK(rel(got.layer_snr[l], want.layer_snr[l]) < 1e-10);
}

}  // namespace

TEST_CASE("diagnostics: batch-gradient SNR, per-layer SNR and phi match brute force (float64)") {
  check_against_brute(false, false, 5, false, false);
  check_against_brute(false, true, 5, false, false);
  check_against_brute(true, true, 6, false, true);
  check_against_brute(false, true, 37, false, true);  // B = N through the batch path
}

TEST_CASE("diagnostics: per-sample SNR from inner products matches brute force (float64)") {
  check_against_brute(false, false, 0, true, false);
  check_against_brute(true, true, 0, true, true);
}

TEST_CASE("diagnostics: float32 statistics agree with float64") {
  Mlp<double> nd(small_net(false), 3);
  Mlp<float> nf(small_net(false), 3);
  nf.copy_params_from(nd);
  auto tf = [] {
    std::vector<Term<float>> out;
    for (const auto& t : terms(64)) {
      Term<float> f;
      f.name = t.name;
      f.is_pde = t.is_pde;
      f.count = t.count;
      f.weight = t.weight;
      f.streams = t.streams;
      auto samp = t.sample;
      f.sample = [samp](Term<float>& ft, Rng& rng) {
        Term<double> d;
        d.count = ft.count;
        samp(d, rng);
        ft.points = d.points.cast<float>();
        ft.data = d.data.cast<float>();
      };
      out.push_back(f);
    }
    out[0].residual = [](Var<float> o, Tape<float>& tape, const Term<float>& t) {
      return o.col(0).d("lap") + o.col(0).d("") * o.col(1).d("") - tape.constant(t.data);
    };
    out[1].residual = [](Var<float> o, Tape<float>&, const Term<float>&) { return o.col(0) - 0.25; };
    return out;
  }();
  auto td = terms(64);
  td[0].residual = [](Var<double> o, Tape<double>& tape, const Term<double>& t) {
    return o.col(0).d("lap") + o.col(0).d("") * o.col(1).d("") - tape.constant(t.data);
  };
  TrainOptions opt;
  opt.diagnostics.enabled = false;
  Trainer<double> trd(nd, td, opt, 5);
  Trainer<float> trf(nf, tf, opt, 5);
  GradStatsConfig c;
  c.batches = 8;
  const GradSnr a = trd.gradient_stats(c), b = trf.gradient_stats(c);
  CHECK(rel(b.snr, a.snr) < 1e-4);
  CHECK(rel(b.layer_snr[0], a.layer_snr[0]) < 1e-4);
}

TEST_CASE("diagnostics: homogeneity on hand-made fields") {
  RowMat<double> pts(400, 2);
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 20; ++j) pts.row(i * 20 + j) << (i + 0.5) / 20.0, (j + 0.5) / 20.0;  // 4 points per cell
  RowMat<double> flat = RowMat<double>::Constant(400, 1, 2.5);
  CHECK(homogeneity(pts, flat, {0, 0}, {1, 1}) == doctest::Approx(1.0).epsilon(1e-14));
  RowMat<double> one = RowMat<double>::Zero(400, 1);
  for (int i = 0; i < 400; ++i)
    if (pts(i, 0) < 0.1 && pts(i, 1) < 0.1) one(i, 0) = -3;  // all mass in one of 100 cells (sign ignored)
  CHECK(homogeneity(pts, one, {0, 0}, {1, 1}) == doctest::Approx(0.1).epsilon(1e-14));
  // Half the cells at 1, half at 3: mean 2, rms sqrt(5).
  RowMat<double> half(400, 1);
  for (int i = 0; i < 400; ++i) half(i, 0) = pts(i, 0) < 0.5 ? 1.0 : 3.0;
  CHECK(homogeneity(pts, half, {0, 0}, {1, 1}) == doctest::Approx(2.0 / std::sqrt(5.0)).epsilon(1e-14));
}

TEST_CASE("diagnostics: saturation and entropy on hand-made activations") {
  RowMat<double> a(4, 2);
  a << 0, 0,  //
      1.5, 0,  //
      3, 3,    //
      0.2, 3;  // both ranges 3, 3 bins -> width 1: bins {0,1,3,0} and {0,0,3,3}
  // Every value below is a sum of binary fractions (shares of 4 points, log2 of powers of two), so exact.
  LayerCompression c = layer_compression(a, 3);
  CHECK(c.saturation == 0.875);  // (3/4 + 4/4) / 2
  CHECK(c.entropy == 2.0);       // four distinct patterns, each p = 1/4
  RowMat<double> d(4, 1);
  d << 0, 0.1, 5, 10;  // bins of width 1/3 (range 10, 30 bins): {0, 0, 15, 30}: patterns A A B C
  c = layer_compression(d, 30);
  CHECK(c.entropy == 1.5);       // p = 1/2, 1/4, 1/4
  CHECK(c.saturation == 0.75);   // 0 and 0.1 in the lowest bin, 10 in the highest
  RowMat<double> flat = RowMat<double>::Constant(5, 3, 0.7);
  c = layer_compression(flat, 30);
  CHECK(c.entropy == 0.0);
  CHECK(c.saturation == 1.0);
}

TEST_CASE("diagnostics: activation_compression reads every hidden layer") {
  Mlp<double> net(small_net(false), 2);
  Rng rng(4);
  const RowMat<double> probe = latin_hypercube(Box{{-1, 0}, {1, 2}}, 256, rng);
  const auto layers = activation_compression(net, probe);
  REQUIRE(layers.size() == 2);
  for (const auto& l : layers) {
    CHECK(l.entropy > 7.0);  // 256 points, 7 neurons, 30 bins: nearly every pattern distinct
    CHECK(l.entropy <= 8.0 + 1e-12);
    CHECK(l.saturation > 0.0);
    CHECK(l.saturation < 0.5);
  }
}

namespace {
// The paper's cadence up to `last`, with SNR(step) from f.
std::vector<std::pair<long, double>> trace(long last, const std::function<double(long, Rng&)>& f) {
  Rng rng(17);
  std::vector<std::pair<long, double>> out;
  for (long s = 0; s <= last; ++s)
    if (diagnostics_due(s, 0)) out.emplace_back(s, f(s, rng));
  return out;
}
double log_uniform(Rng& rng, double lo, double hi) {
  return std::pow(10.0, std::log10(lo) + (std::log10(hi) - std::log10(lo)) * rng.uniform());
}
}  // namespace

TEST_CASE("phases: an Allen-Cahn-shaped trace (70 -> below 1 by step 150, 0.003-0.4, jump to 2-5 at 85k)") {
  auto f = [](long s, Rng& rng) {
    if (s < 150) return 70.0 * std::pow(0.6 / 70.0, s / 150.0) * log_uniform(rng, 0.8, 1.25);
    if (s < 85000) return log_uniform(rng, 0.003, 0.4);
    return log_uniform(rng, 2, 5);
  };
  PhaseDetector d;
  int transitions = 0;
  for (auto [s, v] : trace(120000, f)) transitions += d.add(s, v) ? 1 : 0;
  CHECK(transitions == 2);
  CHECK(d.phase() == Phase::TotalDiffusion);
  CHECK(d.diffusion_step() >= 100);
  CHECK(d.diffusion_step() <= 200);
  CHECK(d.total_step() >= 84700);
  CHECK(d.total_step() <= 85400);
  PhaseDetector again;
  again.replay(d.steps(), d.snrs());
  CHECK(again.total_step() == d.total_step());
  CHECK(again.diffusion_step() == d.diffusion_step());
}

TEST_CASE("phases: a Helmholtz-with-RBA-shaped trace jumps near step 1000") {
  auto f = [](long s, Rng& rng) {
    if (s < 60) return 4.0 * log_uniform(rng, 0.8, 1.25);
    if (s < 1000) return log_uniform(rng, 0.01, 0.3);
    return log_uniform(rng, 2, 5);
  };
  PhaseDetector d;
  for (auto [s, v] : trace(5000, f)) d.add(s, v);
  CHECK(d.diffusion_step() >= 40);
  CHECK(d.diffusion_step() <= 100);
  CHECK(d.total_step() >= 900);
  CHECK(d.total_step() <= 1300);
}

TEST_CASE("phases: isolated spikes and a diffusion that never ends are not total diffusion, phases do not go back") {
  auto spiky = [](long s, Rng& rng) {
    if (s < 100) return 30.0;
    if (s % 1700 == 0) return 50.0;  // one measurement at a time
    return log_uniform(rng, 0.005, 0.2);
  };
  PhaseDetector d;
  for (auto [s, v] : trace(60000, spiky)) d.add(s, v);
  CHECK(d.phase() == Phase::Diffusion);
  CHECK(d.total_step() == -1);
  // Up, then back down: the detector keeps total diffusion.
  auto updown = [](long s, Rng&) { return s < 100 ? 30.0 : s < 2000 ? 0.02 : s < 4000 ? 3.0 : 0.02; };
  PhaseDetector e;
  for (auto [s, v] : trace(8000, updown)) e.add(s, v);
  CHECK(e.phase() == Phase::TotalDiffusion);
  CHECK(e.total_step() >= 1800);
  CHECK(e.total_step() <= 2300);
  // Never below 1: stays in fitting.
  PhaseDetector g;
  for (auto [s, v] : trace(3000, [](long, Rng&) { return 3.0; })) g.add(s, v);
  CHECK(g.phase() == Phase::Fitting);
}

TEST_CASE("diagnostics: a problem without a collocation term trains with no measurement, two are refused") {
  Mlp<double> net(small_net(false), 3);
  std::vector<Term<double>> only_bc{terms(16)[1]};
  Trainer<double> tr(net, only_bc, TrainOptions{}, 1);
  CHECK_FALSE(tr.step().diag.has_value());  // step 0 is a measurement step when there is a collocation term
  std::vector<Term<double>> two = terms(16);
  two.push_back(two[0]);
  two.back().name = "residual2";
  CHECK_THROWS_WITH_AS(Trainer<double>(net, two, TrainOptions{}, 1), doctest::Contains("one collocation"), Error);
  TrainOptions off;
  off.diagnostics.enabled = false;
  CHECK_NOTHROW(Trainer<double>(net, two, off, 1));
}
