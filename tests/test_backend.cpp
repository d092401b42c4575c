// The backend path of the trainer (backend.h) on the host ops (host_ops.h), against the host trainer: the same
// problems, options and seeds must give the same losses, gradients statistics, multipliers and parameters, step
// by step, with and without graph replay; faults, L-BFGS, resampling and checkpoints behave alike. This is the
// suite the CUDA backend runs too (tests/cuda/test_device_trainer.cpp, on a device), with DeviceOps for HostOps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "host_ops.h"
#include "model.h"
#include "samplers.h"
#include "test_backend_cases.h"

using namespace jetpinn;
using namespace jetpinn::backend_cases;

namespace {
template <class T>
std::shared_ptr<Backend<T>> host_backend() {
  return std::make_shared<Backend<T>>(std::make_unique<HostOps<T>>());
}
}  // namespace

TEST_CASE_TEMPLATE("backend on host ops: every built-in problem trains as on the host", T, double, float) {
  // The SNR (and the homogeneity phi, the layer SNRs: everything in Comparison::snr) of the two trainers, relative.
  // Measured (this suite, 24 steps, every 5th measured; two builds a few hours apart): float64 batch variant
  // <= 1.2e-15 (cavity), the per-sample variant 4.1e-10 (burgers: its variance N sum|g_i|^2 - |sum g_i|^2 cancels
  // ~5 digits); float32 batch variant <= 2.8e-7 (allen-cahn). Bounds about 10x above, rounded up. (A planted S2
  // error of 1e-12 relative moves the float64 SNRs by 6e-13 to 1e-11: caught here, not by the former 1e-7.)
  const double SNR_TOL_F64 = 2e-14, SNR_TOL_F64_PER_SAMPLE = 4e-9, SNR_TOL_F32 = 3e-6;
  for (const Case& c : problem_cases()) {
    CAPTURE(c.name);
    const Comparison r = compare_runs<T>(c, host_backend<T>);
    CHECK(r.loss <= tol<T>());
    CHECK(r.params <= tol<T>());
    CHECK(r.lambda <= tol<T>());
    CHECK(r.residual <= tol<T>());  // read back after a replayed step
    // The per-sample variant's variance is N sum|g_i|^2 - |sum g_i|^2, a cancellation that float32 gradients
    // cannot resolve (either trainer's float32 value is off its float64 one by O(1) here): checked in float64.
    const bool per_sample = c.config.at("diagnostics").value("per_sample", false);
    const double SNR_TOL = sizeof(T) == 8 ? (per_sample ? SNR_TOL_F64_PER_SAMPLE : SNR_TOL_F64) : SNR_TOL_F32;
    MESSAGE(c.name << (sizeof(T) == 8 ? " f64" : " f32") << ": loss " << r.loss << ", params " << r.params << ", lambda "
                   << r.lambda << ", snr " << r.snr << " (snr tolerance " << SNR_TOL << ")");
    if (sizeof(T) == 8 || !per_sample) CHECK(r.snr <= SNR_TOL);
    CHECK(r.measurements > 0);
    CHECK(r.graph_launches > 0);  // the plain steps in between were replayed
  }
}

// Graph replay against an independent path: the host trainer (no backend: Tape::backward, core/adam.cpp on the
// host arrays). Replayed and eager backend steps each follow it to REPLAY_TOL, step by step and in the final
// parameters. Beside that, replayed and eager steps give the same bits: a replay re-runs the captured primitives
// with the arguments they had at capture, so a per-step scalar passed by value (not read from ops memory) would
// make the replay diverge from the eager run.
TEST_CASE("backend on host ops: graph replay follows the host trainer, and gives the same bits as eager steps") {
  // Measured (25 steps, float64, relative; two builds): losses <= 5.7e-16, final parameters <= 8.8e-17, both paths
  // alike (the two trainers differ only in the order of a few double sums); the bound is about 9x the larger.
  const double REPLAY_TOL = 5e-15;
  const Case c = problem_cases()[0];
  Json cfg = c.config;
  Model<double> host(c.name, cfg, c.preset), a(c.name, cfg, c.preset);
  a.trainer().set_backend(host_backend<double>());
  cfg["train"]["cuda_graph"] = false;
  Model<double> e(c.name, cfg, c.preset);
  e.trainer().set_backend(host_backend<double>());
  double loss_err = 0;
  for (int i = 0; i < 25; ++i) {
    const StepStats sh = host.trainer().step(), sa = a.trainer().step(), se = e.trainer().step();
    loss_err = std::max({loss_err, rel(sa.loss, sh.loss), rel(se.loss, sh.loss)});
    REQUIRE(sa.loss == se.loss);
  }
  CHECK(a.trainer().graph_launches() > 0);
  CHECK(e.trainer().graph_launches() == 0);
  a.trainer().sync_host();
  e.trainer().sync_host();
  const ParamStore<double>&ph = host.net().params(), &pa = a.net().params(), &pe = e.net().params();
  const double param_err = std::max(rel_vec(pa.values(), ph.values(), ph.size()), rel_vec(pe.values(), ph.values(), ph.size()));
  MESSAGE("replay and eager against the host trainer: loss " << loss_err << ", parameters " << param_err << " (tolerance "
                                                             << REPLAY_TOL << ")");
  CHECK(loss_err <= REPLAY_TOL);
  CHECK(param_err <= REPLAY_TOL);
  for (Index i = 0; i < pa.size(); ++i) REQUIRE(pa.values()[i] == pe.values()[i]);
}

TEST_CASE("backend on host ops: a NaN of every kind stops the step before anything is updated") {
  check_faults(host_backend<double>);
}

TEST_CASE("backend on host ops: L-BFGS after Adam follows the host") {
  check_lbfgs(host_backend<double>);
}

TEST_CASE("backend on host ops: a checkpoint written on the backend resumes on the host and back") {
  const Case c = problem_cases()[0];
  Model<double> ref(c.name, c.config, c.preset), be(c.name, c.config, c.preset);
  be.trainer().set_backend(host_backend<double>());
  for (int i = 0; i < 12; ++i) {
    ref.trainer().step();
    be.trainer().step();
  }
  const Checkpoint ck = be.checkpoint();  // from the backend: parameters, moments, multipliers pulled back
  Model<double> host(c.name, c.config, c.preset), again(c.name, c.config, c.preset);
  host.restore(ck);
  again.restore(ck);
  again.trainer().set_backend(host_backend<double>());  // restored state moves into the backend
  for (int i = 0; i < 8; ++i) {
    const double l0 = ref.trainer().step().loss, l1 = host.trainer().step().loss, l2 = again.trainer().step().loss;
    CHECK(std::abs(l1 - l0) <= 1e-11 * std::abs(l0));
    CHECK(std::abs(l2 - l0) <= 1e-11 * std::abs(l0));
  }
}

TEST_CASE("Tape::rba_mse is mean((lambda r)^2) with RBA's update, and its gradient checks against finite differences") {
  check_rba_mse_op();
}

TEST_CASE("the paper preset's float32 gradient on the host matches float64 (the bar the device's fp32 paths meet)") {
  Json cfg = {{"train", {{"precision", "f32"}}}};
  Model<float> f32("allen-cahn", cfg, "paper");
  f32.trainer().set_backend(host_backend<float>());
  Model<double> f64("allen-cahn", Json::object(), "paper");
  f64.net().copy_params_from(f32.net());
  const double l64 = f64.trainer().loss_and_gradient(), l32 = f32.trainer().loss_and_gradient();
  f32.trainer().backend()->pull_grads(f32.net().params());
  const double err = rel_vec(f32.net().params().grads(), f64.net().params().grads(), f64.net().params().size());
  MESSAGE("loss rel " << rel(l32, l64) << ", gradient rel " << err);
  CHECK(rel(l32, l64) <= 1e-5);
  CHECK(err <= 1e-5);
}

TEST_CASE("backend on host ops: loss_and_gradient and gradient_stats leave the host's gradient in the store") {
  for (const Case& c : problem_cases()) {
    CAPTURE(c.name);
    Model<double> host(c.name, c.config, c.preset), be(c.name, c.config, c.preset);
    be.trainer().set_backend(host_backend<double>());
    for (int i = 0; i < 3; ++i) {  // away from the initial multipliers
      host.trainer().step();
      be.trainer().step();
    }
    CHECK(rel(be.trainer().loss_and_gradient(), host.trainer().loss_and_gradient()) <= 1e-12);
    const ParamStore<double>&ph = host.net().params(), &pb = be.net().params();
    CHECK(rel_vec(pb.grads(), ph.grads(), ph.size()) <= 1e-12);
    GradStatsConfig sc;
    sc.batches = 8;
    sc.per_sample = c.config.at("diagnostics").value("per_sample", false);
    const GradSnr a = host.trainer().gradient_stats(sc), b = be.trainer().gradient_stats(sc);
    CHECK(rel(b.snr, a.snr) <= 1e-10);
    CHECK(rel_vec(pb.grads(), ph.grads(), ph.size()) <= 1e-12);
  }
}

TEST_CASE("backend on host ops: a step that cannot be captured turns graphs off and trains eagerly, as the host") {
  // A residual that reads a value back on the host (here to scale itself by max |u|) cannot be a graph: the
  // capture refuses the download, the trainer says why and goes on eagerly with the host's results.
  auto make_terms = [] {
    Term<double> r;
    r.name = "residual";
    r.is_pde = true;
    r.count = 16;
    r.streams = StreamSet::make({"x"}, {"xx"});
    r.sample = [](Term<double>& t, Rng& rng) { t.points = latin_hypercube(Box{{-1}, {1}}, t.count, rng); };
    r.residual = [](Var<double> u, Tape<double>&, const Term<double>&) {
      const double m = u.d("").value().mat().cwiseAbs().maxCoeff();
      return (u.d("xx") + 1.0) * (1.0 / (1.0 + m));
    };
    return std::vector<Term<double>>{r};
  };
  MlpConfig mc;
  mc.inputs = 1;
  mc.depth = 2;
  mc.width = 8;
  Mlp<double> na(mc, 5), nb(mc, 5);
  TrainOptions opt;
  opt.diagnostics.enabled = false;
  Trainer<double> host(na, make_terms(), opt, 9), be(nb, make_terms(), opt, 9);
  be.set_backend(host_backend<double>());
  for (int i = 0; i < 8; ++i) CHECK(rel(be.step().loss, host.step().loss) <= 1e-12);
  CHECK(be.graph_launches() == 0);
  CHECK(be.graph_failure().find("download while capturing") != std::string::npos);
}
