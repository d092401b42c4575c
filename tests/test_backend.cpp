// The backend path of the trainer (backend.h) on the host ops (host_ops.h), against the host trainer: the same
// problems, options and seeds must give the same losses, gradients statistics, multipliers and parameters, step
// by step, with and without graph replay; faults, L-BFGS, resampling and checkpoints behave alike. This is the
// suite the CUDA backend runs too (tests/cuda/test_device_trainer.cpp, on a device), with DeviceOps for HostOps.
#include <doctest/doctest.h>

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
    if (sizeof(T) == 8 || !per_sample) CHECK(r.snr <= 1e3 * tol<T>());
    CHECK(r.measurements > 0);
    CHECK(r.graph_launches > 0);  // the plain steps in between were replayed
  }
}

TEST_CASE("backend on host ops: graph replay gives the same bits as eager steps") {
  const Case c = problem_cases()[0];
  Json cfg = c.config;
  Model<double> a(c.name, cfg, c.preset), b(c.name, cfg, c.preset);
  a.trainer().set_backend(host_backend<double>());
  cfg["train"]["cuda_graph"] = false;
  Model<double> e(c.name, cfg, c.preset);
  e.trainer().set_backend(host_backend<double>());
  for (int i = 0; i < 25; ++i) {
    const StepStats sa = a.trainer().step(), se = e.trainer().step();
    REQUIRE(sa.loss == se.loss);
  }
  CHECK(a.trainer().graph_launches() > 0);
  CHECK(e.trainer().graph_launches() == 0);
  a.trainer().sync_host();
  e.trainer().sync_host();
  for (Index i = 0; i < a.net().params().size(); ++i) REQUIRE(a.net().params().values()[i] == e.net().params().values()[i]);
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
