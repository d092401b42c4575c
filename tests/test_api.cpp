// The library API (model.h, pde.h): errors at the boundary say what to fix; a saved model reopens to the same
// network and resumes bit-identically; the callback sees each logged step and the diagnostics of measurement steps.
#include <doctest/doctest.h>

#include <cmath>

#include "builtin_problems.h"
#include "config.h"
#include "model.h"
#include "pde.h"
#include "temp_dir.h"

using namespace jetpinn;

namespace {

// 2-D Poisson with a hard boundary condition, small enough to train a few steps in milliseconds.
ProblemSpec small_poisson(std::vector<std::string> derivatives = {"lap"}) {
  ProblemSpec s;
  s.name = "api_poisson";
  s.inputs = {"x", "y"};
  s.outputs = {"u"};
  s.laplacian_inputs = {"x", "y"};
  s.domain = Box{{0, 0}, {1, 1}};
  TermSpec r("residual", std::move(derivatives), /*pde=*/true);
  r.count = 64;
  s.add_term(r, [](auto u, auto&, const auto&) { return u.d("lap") + 1.0; });
  s.set_hard_bc([](auto x) { return x.col(0) * (1.0 - x.col(0)) * x.col(1) * (1.0 - x.col(1)); });
  return s;
}

const Json SMALL = {{"net", {{"depth", 2}, {"width", 8}}}, {"train", {{"iters", 6}, {"log_every", 3}}}};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("evaluate: wrong point dimensions and unknown derivatives say what to pass") {
  Model<> m(small_poisson().info(), SMALL);
  const std::string cols = error_of([&] { m.evaluate(RowMat<double>::Zero(3, 3), {"u"}); });
  CHECK(cols.find("points have 3 columns") != std::string::npos);
  CHECK(cols.find("one column per input (x, y)") != std::string::npos);
  const std::string input = error_of([&] { m.evaluate(RowMat<double>::Zero(3, 2), {"u_z"}); });
  CHECK(input.find("unknown input 'z'") != std::string::npos);
  const std::string name = error_of([&] { m.evaluate(RowMat<double>::Zero(3, 2), {"v"}); });
  CHECK(name.find("unknown quantity 'v'") != std::string::npos);
  // Any derivative up to third order is available at evaluation, declared by a term or not.
  const RowMat<double> q = m.evaluate(RowMat<double>::Constant(2, 2, 0.5), {"u", "u_xy", "u_xxy"});
  CHECK(q.allFinite());
}

TEST_CASE("a residual reading a derivative its term did not declare fails naming it") {
  ProblemSpec s = small_poisson({"xx"});  // the residual reads "lap"
  const std::string e = error_of([&] { Model<>(s.info(), SMALL).train(); });
  CHECK(e.find("derivative 'lap' is not among this jet's streams") != std::string::npos);
  CHECK(e.find("declare it") != std::string::npos);
}

TEST_CASE("backend cuda: trains where there is a device, else refused naming why") {
  const std::string e = error_of([] { check_backend("cuda"); });
  Json cfg = SMALL;
  cfg["train"]["backend"] = "cuda";
  if (e == "(no error)") {  // a device: the model trains on it (tests/cuda compares it with the host)
    Model<> m(small_poisson().info(), cfg);
    CHECK(m.trainer().backend() != nullptr);
    CHECK(std::isfinite(m.step().loss));
    return;
  }
  CHECK(e.find(cuda_backend_built() ? "no CUDA device" : "built without the CUDA backend") != std::string::npos);
  CHECK(e.find("use backend 'cpu'") != std::string::npos);
  CHECK(error_of([&] { Model<>(small_poisson().info(), cfg); }) == e);
  CHECK(error_of([] { check_backend("tpu"); }).find("unknown backend 'tpu'") != std::string::npos);
  CHECK(error_of([] { check_backend("cpu"); }) == "(no error)");
}

TEST_CASE("configuration and precision mistakes name the key or the type to use") {
  Json typo = SMALL;
  typo["net"]["widht"] = 8;
  CHECK(error_of([&] { Model<>(small_poisson().info(), typo); }).find("unknown key 'net.widht'") != std::string::npos);
  Json f32 = SMALL;
  f32["train"]["precision"] = "f32";
  CHECK(error_of([&] { Model<double>(small_poisson().info(), f32); }).find("use Model<float>") != std::string::npos);
  // A residual written for float64 only cannot train in float32.
  ProblemSpec s = small_poisson();
  TermSpec extra("extra", {});
  extra.count = 4;
  s.add_term(extra, [](Var<double> u, Tape<double>&, const Term<double>&) { return u; });
  CHECK(error_of([&] { Model<float>(s.info(), SMALL); }).find("generic lambda") != std::string::npos);
  Model<float> f(small_poisson().info(), SMALL);  // the generic one does
  CHECK(f.config().at("train").at("precision") == "f32");
}

TEST_CASE("a spec missing inputs, domain or terms is refused naming what is missing") {
  ProblemSpec s = small_poisson();
  s.domain = Box{{0}, {1}};
  CHECK(error_of([&] { s.info(); }).find("lo and hi for each of the 2 inputs") != std::string::npos);
  ProblemSpec empty;
  empty.inputs = {"x"};
  empty.outputs = {"u"};
  empty.domain = Box{{0}, {1}};
  CHECK(error_of([&] { empty.info(); }).find("add one with add_term()") != std::string::npos);
  Model<> m(small_poisson().info(), SMALL);
  CHECK(!m.has_reference());
  CHECK(error_of([&] { m.relative_l2(); }).find("set_exact()") != std::string::npos);
}

TEST_CASE("save and open: same network, and training resumes bit-identically") {
  TempDir dir("api");
  Model<> a(small_poisson().info(), SMALL);
  for (int i = 0; i < 3; ++i) a.step();
  a.save(dir.file("m.ckpt"));
  Model<> b = Model<>::open(small_poisson().info(), dir.file("m.ckpt"));
  CHECK(b.steps_done() == 3);
  const RowMat<double> pts = RowMat<double>::Constant(1, 2, 0.3);
  CHECK(a.evaluate(pts, {"u", "u_x"}) == b.evaluate(pts, {"u", "u_x"}));
  a.train();
  b.train();
  CHECK(a.steps_done() == 6);
  CHECK(a.evaluate(pts, {"u", "u_lap"}) == b.evaluate(pts, {"u", "u_lap"}));
  ProblemSpec other = small_poisson();
  other.name = "other";
  CHECK(error_of([&] { Model<>::open(other.info(), dir.file("m.ckpt")); }).find("api_poisson") != std::string::npos);
}

TEST_CASE("the callback sees logged steps, diagnostics on measurement steps, and can stop training") {
  Json cfg = SMALL;
  cfg["diagnostics"] = {{"every", 2}, {"snr_batches", 4}};
  Model<> m(small_poisson().info(), cfg);
  std::vector<long> logged, measured;
  const TrainResult r = m.train([&](const LoggedStep& s) {
    logged.push_back(s.step);
    if (s.diagnostics) {
      measured.push_back(s.step);
      CHECK(s.diagnostics->snr > 0);
      CHECK(s.diagnostics->phase == "fitting");
    }
    CHECK(s.terms == std::vector<std::string>{"residual"});
    return true;
  });
  // Measured when the 0-based step index is a multiple of 2, dated by steps done: 1, 3, 5.
  CHECK(logged == std::vector<long>{1, 3, 5, 6});
  CHECK(measured == std::vector<long>{1, 3, 5});
  CHECK(r.steps == 6);
  CHECK(std::isnan(r.rel_l2));  // no reference
  Model<> early(small_poisson().info(), SMALL);
  const TrainResult stopped = early.train([](const LoggedStep& s) { return s.step < 3; });
  CHECK(stopped.stopped_by_callback);
  CHECK(stopped.steps == 3);
}

TEST_CASE("a registered problem by name, with a preset") {
  Model<> m("helmholtz", {{"points", {{"collocation", 64}, {"boundary", 16}}}}, "quick");
  CHECK(m.has_reference());
  CHECK(m.config().at("preset") == "quick");
  CHECK(m.evaluate(RowMat<double>::Zero(2, 2), {"u", "u_lap"}).allFinite());
  CHECK(error_of([] { Model<>("no-such-problem"); }).find("known problems") != std::string::npos);
}

TEST_CASE("every preset of every built-in problem validates and builds its network and trainer") {
  // The presets' own networks and optimizers (a dense quasi-Newton method checks its size and precision when
  // the trainer is built); only the point counts are cut, so that building is quick.
  const Json small_points = {{"points", {{"collocation", 64}, {"boundary", 16}, {"initial", 16}}}};
  int checked = 0;
  for (const ProblemInfo& info : builtin_problems())
    for (const auto& kv : info.presets) {
      CAPTURE(info.name);
      CAPTURE(kv.first);
      Json cfg;
      REQUIRE_NOTHROW(cfg = resolve_config(info, kv.first, &small_points, {}));
      Json patch = small_points;
      patch["train"]["precision"] = cfg.at("train").at("precision");
      if (cfg.at("train").at("precision") == "f32")
        CHECK_NOTHROW(Model<float>(info, patch, kv.first));
      else
        CHECK_NOTHROW(Model<double>(info, patch, kv.first));
      ++checked;
    }
  CHECK(checked >= 8);
}
