// Shared cases of the backend suite: the built-in problems, shrunk to a few hundred points and a small network,
// trained side by side on the host trainer and on a Backend (host ops here; device ops in tests/cuda), and
// compared step by step. Header-only so the CUDA test binary runs exactly these cases.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host_ops.h"
#include "model.h"

namespace jetpinn::backend_cases {

struct Case {
  std::string name, preset;
  Json config;
  int steps = 24;
};

// Trajectories differ only in the order of a few sums (the fused RBA loss sums in double), which Adam's
// normalisation carries into the parameters at a few ulps a step.
template <class T>
constexpr double tol() {
  return sizeof(T) == 8 ? 1e-10 : 2e-4;
}

inline Json small_config(Json extra) {
  Json c = {{"net", {{"depth", 2}, {"width", 16}}},
            {"points", {{"collocation", 300}, {"boundary", 40}, {"initial", 40}}},
            {"train", {{"iters", 1000}, {"eval_every", 0}}},
            {"diagnostics", {{"enabled", true}, {"every", 5}, {"snr_batches", 10}}}};
  c.merge_patch(extra);
  return c;
}

// Every built-in problem, with the features that change the step: RBA (both variants), the modified MLP,
// Fourier features, hard boundary conditions, resampling, per-sample statistics, several outputs, hidden layers
// of unequal widths.
inline std::vector<Case> problem_cases() {
  return {
      {"allen-cahn", "quick", small_config({{"loss", {{"rba", {{"enabled", true}}}}}, {"points", {{"resample_every", 7}}}})},
      {"helmholtz", "quick", small_config({{"loss", {{"rba", {{"enabled", true}, {"variant", "minmax"}}}}},
                                           {"net", {{"modified", true}}}})},
      {"burgers", "quick", small_config({{"diagnostics", {{"per_sample", true}}}, {"net", {{"widths", {16, 9}}}}})},  // unequal: layer by layer
      {"cavity", "quick", small_config({{"loss", {{"rba", {{"enabled", true}, {"init", "residual"}}}}}, {"points", {{"collocation", 200}}}})},
  };
}

inline double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

template <class A, class B>
double rel_vec(const A* a, const B* b, Index n) {
  double num = 0, den = 0;
  for (Index i = 0; i < n; ++i) {
    num = std::max(num, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    den = std::max(den, std::abs(static_cast<double>(b[i])));
  }
  return den > 0 ? num / den : num;
}

struct Comparison {
  double loss = 0, params = 0, lambda = 0, residual = 0, snr = 0;
  int measurements = 0, lbfgs_steps = 0;
  long graph_launches = 0;
};

template <class T>
using BackendFactory = std::function<std::shared_ptr<Backend<T>>()>;

template <class T>
Comparison compare_runs(const Case& c, const BackendFactory<T>& make) {
  Json cfg = c.config;
  cfg["train"]["precision"] = sizeof(T) == 8 ? "f64" : "f32";
  Model<T> host(c.name, cfg, c.preset), be(c.name, cfg, c.preset);
  be.trainer().set_backend(make());
  Comparison r;
  for (int i = 0; i < c.steps; ++i) {
    const StepStats a = host.trainer().step(), b = be.trainer().step();
    REQUIRE(a.bad.empty());
    REQUIRE(b.bad.empty());
    r.loss = std::max(r.loss, rel(b.loss, a.loss));
    REQUIRE(a.term_mse.size() == b.term_mse.size());
    for (std::size_t t = 0; t < a.term_mse.size(); ++t) r.loss = std::max(r.loss, rel(b.term_mse[t], a.term_mse[t]));
    REQUIRE(a.diag.has_value() == b.diag.has_value());
    if (a.diag) {
      ++r.measurements;
      r.snr = std::max({r.snr, rel(b.diag->grad.snr, a.diag->grad.snr), rel(b.diag->snr_adam, a.diag->snr_adam),
                        rel(b.diag->phi_rba, a.diag->phi_rba), rel(b.diag->phi_res, a.diag->phi_res)});
      for (std::size_t l = 0; l < a.diag->grad.layer_snr.size(); ++l)
        r.snr = std::max(r.snr, rel(b.diag->grad.layer_snr[l], a.diag->grad.layer_snr[l]));
    }
    r.lbfgs_steps += b.lbfgs ? 1 : 0;
  }
  be.trainer().sync_host();
  const ParamStore<T>&ph = host.net().params(), &pb = be.net().params();
  r.params = rel_vec(pb.values(), ph.values(), ph.size());
  for (std::size_t t = 0; t < host.trainer().terms().size(); ++t) {
    const RowMat<T>&lh = host.trainer().lambda(t), &lb = be.trainer().lambda(t);
    REQUIRE(lh.size() == lb.size());
    r.lambda = std::max(r.lambda, rel_vec(lb.data(), lh.data(), lh.size()));
    const RowMat<T>&rh = host.trainer().residual(t), &rb = be.trainer().residual(t);  // the last step's
    REQUIRE(rh.size() == rb.size());
    r.residual = std::max(r.residual, rel_vec(rb.data(), rh.data(), rh.size()));
  }
  r.graph_launches = be.trainer().graph_launches();
  return r;
}

struct FaultResult {
  std::string bad;
  long bad_step = -1;
  std::vector<double> params_after;
};

// A NaN of kind `what` at step 5 (debug.inject_nan); the step's verdict and the parameters after it.
template <class T>
FaultResult run_fault(const std::string& what, const BackendFactory<T>& make) {
  const Case c = problem_cases()[0];
  Json cfg = c.config;
  cfg["debug"] = {{"inject_nan", what}, {"inject_nan_step", 5}};
  cfg["train"]["precision"] = sizeof(T) == 8 ? "f64" : "f32";
  Model<T> m(c.name, cfg, c.preset);
  if (make) m.trainer().set_backend(make());
  FaultResult r;
  for (int i = 0; i < 8 && r.bad.empty(); ++i) {
    const StepStats s = m.trainer().step();
    if (!s.bad.empty()) {
      r.bad = s.bad;
      r.bad_step = s.step;
    }
  }
  m.trainer().sync_host();
  const ParamStore<T>& p = m.net().params();
  r.params_after.assign(p.values(), p.values() + p.size());
  return r;
}

// max |a - b| / max |b| over the entries, NaN only where both are NaN (else infinity).
inline double rel_nan(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
      continue;
    }
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

// Every fault kind on the backend stops the step with the host trainer's verdict, at the same step, having
// changed nothing (float64).
inline void check_faults(const BackendFactory<double>& make) {
  for (const std::string what : {"param", "loss", "grad", "rba"}) {
    CAPTURE(what);
    const FaultResult host = run_fault<double>(what, nullptr);
    const FaultResult be = run_fault<double>(what, make);
    CHECK(!host.bad.empty());
    CHECK(be.bad == host.bad);
    CHECK(be.bad_step == host.bad_step);
    CHECK(rel_nan(be.params_after, host.params_after) <= 1e-12);  // the bad step changed nothing on either
  }
}

// Adam for 6 steps, then 4 L-BFGS iterations (vectors in the backend's memory), against the host (float64); then
// the same with optim.qn_refresh.
inline void check_lbfgs(const BackendFactory<double>& make) {
  Case c = problem_cases()[1];
  c.config["optim"]["lbfgs_from"] = 6;
  c.steps = 10;
  const Comparison r = compare_runs<double>(c, make);
  CHECK(r.loss <= 1e-10);
  CHECK(r.params <= 1e-10);
  CHECK(r.lbfgs_steps == 4);
  // The objective refreshed at steps 8 and 10 (RBA multipliers one update, points redrawn and their multipliers
  // restarted at |r| / max|r|), the memory kept. A fast rule (eta = 1 - gamma = 0.2) brings the multipliers near
  // that scale within the 6 Adam steps, so the restart does not jump the loss.
  c.config["loss"]["rba"] = {{"enabled", true}, {"eta", 0.2}, {"gamma", 0.8}};
  c.config["optim"]["qn_refresh"] = {{"every", 2}, {"points", "redraw"}};
  c.steps = 12;
  const Comparison refreshed = compare_runs<double>(c, make);
  CHECK(refreshed.loss <= 1e-10);
  CHECK(refreshed.params <= 1e-10);
  CHECK(refreshed.lambda <= 1e-10);
  CHECK(refreshed.lbfgs_steps == 6);
}

// Tape::rba_mse against the composition it replaces, mean(square(r * lambda)), and finite differences.
inline void check_rba_mse_op() {
  MlpConfig mc;
  mc.inputs = 2;
  mc.outputs = 2;
  mc.depth = 2;
  mc.width = 8;
  Mlp<double> net(mc, 3);
  Rng rng(11);
  const Index P = 37;
  RowMat<double> pts(P, 2), lam(P, 2);
  for (Index i = 0; i < P; ++i)
    for (Index j = 0; j < 2; ++j) {
      pts(i, j) = rng.uniform(-1, 1);
      lam(i, j) = rng.uniform(0.1, 2.0);
    }
  const auto streams = StreamSet::value_only();
  auto loss_of = [&](bool fused, RowMat<double>& l, bool update, std::vector<double>* grad) {
    Tape<double> tape(&net.params());
    net.params().zero_grad();
    Var<double> r = net.forward(tape, tape.input(pts, streams));
    r = r * r + 0.5;  // a residual with some curvature
    Var<double> loss;
    if (fused) {
      loss = tape.rba_mse(r, l.data(), RbaRule{1e-2, 0.9, false, false}, update, false, true);
    } else {
      if (update) rba_update(RbaConfig{true, 1e-2, 0.9, false, false}, r.value().mat(), l, false);
      loss = mean(square(r * tape.constant(l)));
    }
    tape.backward(loss);
    if (grad) grad->assign(net.params().grads(), net.params().grads() + net.params().size());
    return loss.value()(0, 0);
  };
  RowMat<double> l1 = lam, l2 = lam;
  std::vector<double> g1, g2;
  const double f1 = loss_of(true, l1, true, &g1), f2 = loss_of(false, l2, true, &g2);
  CHECK(rel(f1, f2) <= 1e-14);
  CHECK(rel_vec(l1.data(), l2.data(), l1.size()) == 0.0);
  CHECK(rel_vec(g1.data(), g2.data(), static_cast<Index>(g1.size())) <= 1e-13);
  // Central differences on every 7th parameter, multipliers fixed.
  double worst = 0;
  for (Index k = 0; k < net.params().size(); k += 7) {
    double& p = net.params().values()[k];
    const double p0 = p, h = 1e-6 * std::max(1.0, std::abs(p0));
    RowMat<double> lf = l1;
    p = p0 + h;
    const double fp = loss_of(true, lf, false, nullptr);
    p = p0 - h;
    const double fm = loss_of(true, lf, false, nullptr);
    p = p0;
    worst = std::max(worst, std::abs((fp - fm) / (2 * h) - g1[static_cast<std::size_t>(k)]) /
                                std::max(1e-3, std::abs(g1[static_cast<std::size_t>(k)])));
  }
  CHECK(worst <= 1e-6);
}

}  // namespace jetpinn::backend_cases
