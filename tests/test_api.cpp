// The library API (model.h, pde.h): errors at the boundary say what to fix; a saved model reopens to the same
// network and resumes bit-identically; the callback sees each logged step and the diagnostics of measurement steps;
// loss_and_gradient matches central differences; parameters go out and in by name; train.threads is honoured.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "builtin_problems.h"
#include "config.h"
#include "model.h"
#include "pde.h"
#include "references/cavity_corner_flow.h"
#include "temp_dir.h"

using namespace jetpinn;

namespace {

// 2-D Poisson with a hard boundary condition, small enough to train a few steps in milliseconds.
// u(x, y) with a collapsed Laplacian stream, no domain and no terms yet.
ProblemSpec xy_spec(std::string name) {
  ProblemSpec s;
  s.name = std::move(name);
  s.inputs = {"x", "y"};
  s.outputs = {"u"};
  s.laplacian_inputs = {"x", "y"};
  return s;
}

ProblemSpec small_poisson(std::vector<std::string> derivatives = {"lap"}) {
  ProblemSpec s = xy_spec("api_poisson");
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
  cfg["diagnostics"] = {{"enabled", true}, {"every", 2}, {"snr_batches", 4}};
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

// A quasi-Newton method that finds no decrease even along -g would repeat the same step until the budget ends;
// the run ends at that step instead. A residual multiplied by zero: loss and gradient are zero, and the first
// quasi-Newton step stalls.
TEST_CASE("training ends at a quasi-Newton stall instead of repeating it") {
  ProblemSpec s = xy_spec("api_flat");
  s.domain = Box{{0, 0}, {1, 1}};
  TermSpec r("residual", {"lap"}, /*pde=*/true);
  r.count = 64;
  s.add_term(r, [](auto u, auto&, const auto&) { return u.d("lap") * 0.0; });
  const Json cfg = {{"net", {{"depth", 2}, {"width", 8}}},
                    {"optim", {{"lbfgs_from", 2}, {"quasi_newton", "bfgs"}}},
                    {"train", {{"iters", 10}, {"precision", "f64"}}}};
  Model<> m(s.info(), cfg);
  const TrainResult t = m.train();
  CHECK(t.finished.find("gradient tolerance") != std::string::npos);
  CHECK(t.steps == 3);  // two Adam steps, then the stalled quasi-Newton step
  CHECK(t.loss == 0);
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

TEST_CASE("diagnostics: off in the library unless the configuration turns them on, on in the driver's defaults") {
  Model<> plain(small_poisson().info(), SMALL);
  CHECK(plain.config().at("diagnostics").at("enabled") == false);
  for (int i = 0; i < 3; ++i) CHECK(!plain.step().diagnostics);  // the paper's cadence would measure step 0
  Json on = SMALL;
  on["diagnostics"] = {{"enabled", true}, {"snr_batches", 4}};
  Model<> measured(small_poisson().info(), on);
  CHECK(measured.step().diagnostics);
  CHECK(resolve_config(small_poisson().info(), "", nullptr, {}).at("diagnostics").at("enabled") == true);
}

TEST_CASE("train.threads: set for each call that computes, the caller's thread count restored after") {
  auto seen = std::make_shared<int>(0);  // OpenMP's thread count where the residual runs
  ProblemSpec s = xy_spec("api_threads");
  s.domain = Box{{0, 0}, {1, 1}};
  TermSpec r("residual", {"lap"}, true);
  r.count = 16;
  s.add_term(r, [seen](auto u, auto&, const auto&) {
    *seen = omp_get_max_threads();
    return u.d("lap") + 1.0;
  });
  const int caller = omp_get_max_threads();
  omp_set_num_threads(3);
  Json one = SMALL;
  one["train"]["threads"] = 1;
  Model<> m(s.info(), one);
  m.step();
  CHECK(*seen == 1);
  CHECK(omp_get_max_threads() == 3);
  *seen = 0;
  m.loss_and_gradient();
  CHECK(*seen == 1);
  *seen = 0;
  m.train();
  CHECK(*seen == 1);
  CHECK(omp_get_max_threads() == 3);
  Model<> all(s.info(), SMALL);  // 0: OpenMP's setting as the caller left it
  all.step();
  CHECK(*seen == 3);
  omp_set_num_threads(caller);
}

TEST_CASE("loss_and_gradient: the next step's loss, per-term MSEs, and a gradient that matches central differences") {
  Json cfg = SMALL;
  cfg["train"]["seed"] = 3;
  Model<> m(small_poisson().info(), cfg);
  m.step();  // off the initial weights
  const NamedArrays before = m.parameters();
  const LossAndGradient g = m.loss_and_gradient();
  CHECK(m.steps_done() == 1);
  CHECK(m.parameters() == before);  // nothing updated
  CHECK(g.terms == std::vector<std::string>{"residual"});
  REQUIRE(g.term_mse.size() == 1);
  CHECK(g.term_mse[0] == doctest::Approx(g.loss).epsilon(1e-14));  // one term of weight 1, no RBA
  REQUIRE(g.gradient.size() == before.size());
  CHECK(m.step().loss == g.loss);
  m.set_parameters(before);
  // Central differences in float64 on one entry of every tensor: step h = 1e-5 leaves a truncation error of
  // order h^2 |d3L| ~ 1e-10 and a rounding error of order eps |L| / h ~ 1e-11; tolerance 1e-6 relative to the
  // largest gradient entry of the tensor.
  const double h = 1e-5, tol = 1e-6;
  double used = 0;
  for (std::size_t t = 0; t < before.size(); ++t) {
    CAPTURE(before[t].first);
    CHECK(g.gradient[t].first == before[t].first);
    CHECK(g.gradient[t].second.shape == before[t].second.shape);
    const std::size_t k = before[t].second.data.size() / 2;
    auto loss_at = [&](double dx) {
      NamedArrays p = before;
      p[t].second.data[k] += dx;
      m.set_parameters(p);
      return m.loss_and_gradient().loss;
    };
    const double fd = (loss_at(h) - loss_at(-h)) / (2 * h);
    double scale = 0;
    for (double v : g.gradient[t].second.data) scale = std::max(scale, std::abs(v));
    const double err = std::abs(fd - g.gradient[t].second.data[k]) / std::max(scale, 1e-12);
    used = std::max(used, err / tol);
    CHECK(err <= tol);
  }
  MESSAGE("loss_and_gradient vs central differences: " << used * 100 << "% of the tolerance used");
}

TEST_CASE("parameters by name: PyTorch's nn.Linear layout, set_parameters and .npz round trips, net.init_from") {
  TempDir dir("api-params");
  Model<> a(small_poisson().info(), SMALL);  // depth 2, width 8, inputs x, y
  const NamedArrays p = a.parameters();
  std::vector<std::string> names;
  for (const auto& [n, arr] : p) names.push_back(n);
  CHECK(names == std::vector<std::string>{"layer0.W", "layer0.b", "layer1.W", "layer1.b", "layer2.W", "layer2.b"});
  CHECK(p[0].second.shape == std::vector<std::size_t>{8, 2});  // out x in
  CHECK(p[1].second.shape == std::vector<std::size_t>{8});
  CHECK(p[4].second.shape == std::vector<std::size_t>{1, 8});
  // Row-major out x in: entry (o, i) of layer0.W is the weight from input i to unit o.
  CHECK(p[0].second.data[1 * 2 + 0] == a.net().params().value(0)(1, 0));

  Json other_seed = SMALL;
  other_seed["train"]["seed"] = 9;
  Model<> b(small_poisson().info(), other_seed);
  const RowMat<double> pts = RowMat<double>::Constant(2, 2, 0.3);
  CHECK(a.evaluate(pts, {"u"}) != b.evaluate(pts, {"u"}));
  b.set_parameters(p);
  CHECK(a.evaluate(pts, {"u", "u_xx"}) == b.evaluate(pts, {"u", "u_xx"}));

  a.save_parameters(dir.file("w.npz"));
  const NamedArrays read = read_npz(dir.file("w.npz"));
  REQUIRE(read.size() == p.size());
  for (std::size_t t = 0; t < p.size(); ++t) {
    CHECK(read[t].first == p[t].first);
    CHECK(read[t].second.shape == p[t].second.shape);
    CHECK(read[t].second.data == p[t].second.data);
  }
  Json from = other_seed;
  from["net"]["init_from"] = dir.file("w.npz");
  Model<> c(small_poisson().info(), from);
  CHECK(c.evaluate(pts, {"u", "u_xx"}) == a.evaluate(pts, {"u", "u_xx"}));
  Model<float> f(small_poisson().info(), from);  // into float32, rounded once
  CHECK(f.parameters()[0].second.data[0] == static_cast<double>(static_cast<float>(p[0].second.data[0])));
  c.step();
  c.save(dir.file("c.ckpt"));  // reopened from the checkpoint's weights, without the file
  std::filesystem::remove(dir.file("w.npz"));
  CHECK(Model<>::open(small_poisson().info(), dir.file("c.ckpt")).evaluate(pts, {"u"}) == c.evaluate(pts, {"u"}));

  // Bad sets: one line naming the tensor (and both shapes), nothing changed.
  const RowMat<double> kept = b.evaluate(pts, {"u"});
  NamedArrays missing = p, extra = p, shaped = p, twice = p, nan = p;
  missing.pop_back();
  extra.emplace_back("layer9.W", NpyArray{{1, 1}, {0.0}});
  shaped[2].second.shape = {4, 16};
  twice.push_back(p[0]);
  nan[3].second.data[0] = std::nan("");
  CHECK(error_of([&] { b.set_parameters(missing); }) == "set_parameters: tensor 'layer2.b' is missing (shape [1])");
  CHECK(error_of([&] { b.set_parameters(extra); }).find("unknown tensor 'layer9.W'; this network's parameters are layer0.W, layer0.b") != std::string::npos);
  CHECK(error_of([&] { b.set_parameters(shaped); }) == "set_parameters: tensor 'layer1.W' has shape [4, 16]; this network's is [8, 8]");
  CHECK(error_of([&] { b.set_parameters(twice); }) == "set_parameters: tensor 'layer0.W' appears twice");
  CHECK(error_of([&] { b.set_parameters(nan); }) == "set_parameters: tensor 'layer1.b' holds a NaN or Inf");
  CHECK(b.evaluate(pts, {"u"}) == kept);
  // Weights of a network with another input count: the first layer names both shapes.
  ProblemSpec three = small_poisson();
  three.inputs = {"x", "y", "z"};
  three.laplacian_inputs = {"x", "y", "z"};
  three.domain = Box{{0, 0, 0}, {1, 1, 1}};
  three.set_hard_bc([](auto x) { return x.col(0) * (1.0 - x.col(0)); });
  b.save_parameters(dir.file("b.npz"));
  Json wrong = SMALL;
  wrong["net"]["init_from"] = dir.file("b.npz");
  CHECK(error_of([&] { Model<>(three.info(), wrong); }) ==
        "net.init_from '" + dir.file("b.npz") + "': tensor 'layer0.W' has shape [8, 2]; this network's is [8, 3]");
}

TEST_CASE("net.widths: one width per hidden layer, named and shaped by layer, checked like every key") {
  Json cfg = SMALL;
  cfg["net"]["widths"] = {7, 5, 3};  // replaces depth 2 x width 8
  Model<> m(small_poisson().info(), cfg);
  const NamedArrays p = m.parameters();
  REQUIRE(p.size() == 8);
  const std::vector<std::vector<std::size_t>> shapes{{7, 2}, {7}, {5, 7}, {5}, {3, 5}, {3}, {1, 3}, {1}};
  for (std::size_t t = 0; t < p.size(); ++t) {
    CAPTURE(p[t].first);
    CHECK(p[t].first == "layer" + std::to_string(t / 2) + (t % 2 ? ".b" : ".W"));
    CHECK(p[t].second.shape == shapes[t]);
  }
  CHECK(m.net().params().size() == 7 * 2 + 7 + 5 * 7 + 5 + 3 * 5 + 3 + 3 + 1);
  CHECK(!m.net().config().uniform());
  const double first = m.step().loss;
  CHECK(std::isfinite(first));

  Json zero = SMALL, modified = SMALL, text = SMALL;
  zero["net"]["widths"] = {7, 0};
  modified["net"]["widths"] = {7, 5};
  modified["net"]["modified"] = true;
  text["net"]["widths"] = {"wide"};
  CHECK(error_of([&] { Model<>(small_poisson().info(), zero); }) == "'net.widths' must list integers >= 1, got 0");
  CHECK(error_of([&] { Model<>(small_poisson().info(), text); }) == "'net.widths' must list integers >= 1, got \"wide\"");
  CHECK(error_of([&] { Model<>(small_poisson().info(), modified); }).find("must be equally wide; got widths [7, 5]") !=
        std::string::npos);
  MlpConfig direct;  // the library's MlpConfig checks the same
  direct.widths = {4, -1};
  CHECK(error_of([&] { direct.validate(); }) == "network widths: hidden layer 1 has width -1; each must be >= 1");
}

TEST_CASE("a domain is optional when every term has its points, a term drawing over it needs one") {
  ProblemSpec s = xy_spec("api_no_domain");
  TermSpec fixed("residual", {"lap"}, true);
  fixed.points = RowMat<double>::Constant(16, 2, 0.25);
  for (Index i = 0; i < 16; ++i) fixed.points(i, 0) = 0.05 * static_cast<double>(i);
  s.add_term(fixed, [](auto u, auto&, const auto&) { return u.d("lap") + 1.0; });
  TermSpec sampled("bc", {});
  sampled.count = 8;
  sampled.sampler = [](Index n, Rng&) { return RowMat<double>::Zero(n, 2); };
  s.add_term(sampled, [](auto u, auto&, const auto&) { return u; });
  Json cfg = SMALL;
  cfg["diagnostics"] = {{"enabled", true}, {"every", 1}, {"snr_batches", 4}};  // homogeneity over the points' box
  Model<> m(s.info(), cfg);
  const LoggedStep st = m.step();
  CHECK(std::isfinite(st.loss));
  CHECK(st.diagnostics);
  TermSpec drawn("extra", {});
  drawn.count = 4;
  s.add_term(drawn, [](auto u, auto&, const auto&) { return u; });
  CHECK(error_of([&] { s.info(); }) == "problem 'api_no_domain': term 'extra' draws its points over the domain, which "
                                        "is not set; set ProblemSpec::domain, or the term's box, sampler or points");
  ProblemSpec exact = small_poisson();
  exact.domain = Box();
  exact.set_exact([](double, double) { return 0.0; });
  CHECK(error_of([&] { exact.info(); }).find("set_exact() builds its grid over the domain") != std::string::npos);
}

// net.hard_bc on the built-in problems that define it: the network's output meets the boundary (and for Burgers
// the initial) condition exactly, so those loss terms are gone and only the residual is trained.
TEST_CASE("net.hard_bc: Helmholtz, Burgers and Allen-Cahn meet their boundary and initial values exactly, with the residual alone") {
  const Json hard = {{"net", {{"depth", 2}, {"width", 8}, {"hard_bc", true}}},
                     {"points", {{"collocation", 64}}}, {"train", {{"seed", 5}}}};
  const Index n = 9;
  RowMat<double> sides(4 * n, 2), initial(n, 2);
  for (Index i = 0; i < n; ++i) {
    const double s = -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1) * 0.999;  // inside (-1, 1)
    sides.row(i) << -1.0, s;
    sides.row(n + i) << 1.0, s;
    sides.row(2 * n + i) << s, -1.0;
    sides.row(3 * n + i) << s, 1.0;
    initial.row(i) << 0.0, s;
  }
  Model<> helmholtz("helmholtz", hard);
  helmholtz.step();  // off the initial weights
  CHECK(helmholtz.loss_and_gradient().terms == std::vector<std::string>{"residual"});
  CHECK(helmholtz.evaluate(sides, {"u"}).cwiseAbs().maxCoeff() == 0.0);  // (x^2 - 1)(y^2 - 1) is exactly 0 there

  Model<> burgers("burgers", hard);
  burgers.step();
  CHECK(burgers.loss_and_gradient().terms == std::vector<std::string>{"residual"});
  const RowMat<double> u0 = burgers.evaluate(initial, {"u"});
  for (Index i = 0; i < n; ++i) CHECK(u0(i, 0) == doctest::Approx(-std::sin(M_PI * initial(i, 1))).epsilon(1e-15));
  RowMat<double> walls(2 * n, 2);  // (t, x = -1) and (t, x = 1)
  for (Index i = 0; i < n; ++i) {
    const double t = 0.05 + 0.9 * static_cast<double>(i) / static_cast<double>(n - 1);
    walls.row(i) << t, -1.0;
    walls.row(n + i) << t, 1.0;
  }
  CHECK(burgers.evaluate(walls, {"u"}).cwiseAbs().maxCoeff() < 1e-15);  // sin(pi) rounds to 1.2e-16
  // Not the network alone: the soft-constraint model (same seed) differs there.
  Json soft = hard;
  soft["net"]["hard_bc"] = false;
  Model<> burgers_soft("burgers", soft);
  CHECK(burgers_soft.loss_and_gradient().terms == std::vector<std::string>{"residual", "ic", "bc"});
  CHECK(burgers_soft.evaluate(walls, {"u"}).cwiseAbs().maxCoeff() > 1e-6);

  Json ac_hard = hard;  // periodic features in x, as the accurate preset has
  ac_hard["net"]["fourier_modes"] = 3;
  Model<> allen_cahn("allen-cahn", ac_hard);
  allen_cahn.step();
  CHECK(allen_cahn.loss_and_gradient().terms == std::vector<std::string>{"residual"});
  const RowMat<double> a0 = allen_cahn.evaluate(initial, {"u"});
  for (Index i = 0; i < n; ++i) {
    const double x = initial(i, 1);
    CHECK(std::abs(a0(i, 0) - x * x * std::cos(M_PI * x)) < 1e-14);  // at x = +-1 the corner term's 2e-15 / sqrt(pi)
  }
  // At x = +-1 (u0 = -1, the stable state) the offset stays -1, so with periodic features u(t, 1) = u(t, -1).
  RowMat<double> ends(2, 2);
  ends << 0.5, -1.0, 0.5, 1.0;
  const RowMat<double> ue = allen_cahn.evaluate(ends, {"u"});
  CHECK(ue(0, 0) == doctest::Approx(ue(1, 0)).epsilon(1e-12));
  // With every weight zero, u is the offset: -1 + (u0 + 1) e^(-2a t), a = 5.
  NamedArrays zero = allen_cahn.parameters();
  for (auto& [name, w] : zero) std::fill(w.data.begin(), w.data.end(), 0.0);
  allen_cahn.set_parameters(zero);
  RowMat<double> inside(1, 2);
  inside << 0.3, 0.2;
  const double v0 = 0.04 * std::cos(0.2 * M_PI);
  CHECK(allen_cahn.evaluate(inside, {"u"})(0, 0) == doctest::Approx(-1 + (v0 + 1) * std::exp(-10 * 0.3)).epsilon(1e-14));
  // Near x = +-1 the offset's corner term is the heat kernel's smoothing of the corner: with v = u + 1, v_t - eps
  // v_xx + 2a v leaves only -eps e^(-2a t) u0''(x) (the smooth part of u0 is not smoothed), while eps u_xx is
  // 0.04 to 0.1 at t = 0.01 within w = sqrt(4 eps t) = 2e-3 of the corner; and the slope across x = +-1 is 0.
  RowMat<double> corner(4, 2);
  corner << 0.01, 1.0, 0.01, 0.999, 0.01, -0.998, 0.01, -1.0;
  const RowMat<double> cd = allen_cahn.evaluate(corner, {"u", "u_t", "u_x", "u_xx"});
  const double eps = 1e-4, decay = std::exp(-10 * 0.01);
  for (Index i = 0; i < corner.rows(); ++i) {
    const double x = corner(i, 1), px = M_PI * x;
    const double u0_xx = 2 * std::cos(px) - 4 * px * std::sin(px) - px * px * std::cos(px);
    CAPTURE(x);
    CHECK(eps * std::abs(cd(i, 3)) > 0.03);
    CHECK(std::abs(cd(i, 1) - eps * cd(i, 3) + 10 * (cd(i, 0) + 1) + eps * decay * u0_xx) < 1e-12);
  }
  CHECK(std::abs(cd(0, 2)) < 1e-12);
  CHECK(std::abs(cd(3, 2)) < 1e-12);
  Json ac_soft = ac_hard;
  ac_soft["net"]["hard_bc"] = false;
  Model<> allen_cahn_soft("allen-cahn", ac_soft);
  CHECK(allen_cahn_soft.loss_and_gradient().terms == std::vector<std::string>{"residual", "ic"});
  CHECK((allen_cahn_soft.evaluate(initial, {"u"}) - a0).cwiseAbs().maxCoeff() > 1e-6);
}

// pde.corner_flow: with every weight zero the network's psi and p vanish, so the cavity's loss terms and derived
// velocity are those of the corner flow (psi_c, p_c) alone: its Stokes pressure balances its viscous term, which
// leaves the convective one, written here in (u, v) rather than the residual's psi streams: r1 = u u_x + v u_y =
// u psi_xy + v psi_yy, r2 = u v_x + v v_y = -u psi_xx - v psi_xy; the walls' residual is the network's velocity
// less (wall - corner flow). The viscous balance itself, nu lap u_c = grad p_c with p_c harmonic conjugate to
// nu omega_c, is the corner flow's Stokes property (test_reference_cavity.cpp checks lap omega_c = 0).
TEST_CASE("pde.corner_flow: the cavity's residual, walls and velocity carry the lid corners' Stokes flow") {
  const Json cfg = {{"pde", {{"re", 100.0}, {"corner_flow", true}}},
                    {"net", {{"depth", 2}, {"width", 8}}},
                    {"points", {{"collocation", 200}, {"boundary", 40}}},
                    {"train", {{"seed", 3}}}};
  Model<> m("cavity", cfg);
  NamedArrays zero = m.parameters();
  for (auto& [name, a] : zero) std::fill(a.data.begin(), a.data.end(), 0.0);
  m.set_parameters(zero);
  const LossAndGradient lg = m.loss_and_gradient();
  REQUIRE(lg.terms == std::vector<std::string>{"residual", "bc"});
  const Checkpoint state = m.checkpoint();
  auto mse = [&](const std::string& term, auto residual) {
    const std::vector<double> p = state.get<double>("term." + term + ".points");
    double sum = 0;
    for (std::size_t i = 0; i + 1 < p.size(); i += 2) {
      const auto [a, b] = residual(p[i], p[i + 1]);
      sum += a * a + b * b;
    }
    return sum / static_cast<double>(p.size());  // two components per point
  };
  const double residual = mse("residual", [&](double x, double y) {
    const CornerFlow c = cavity_corner_flow(x, y);
    return std::pair{c.u * c.psi_xy + c.v * c.psi_yy, -c.u * c.psi_xx - c.v * c.psi_xy};
  });
  CHECK(lg.term_mse[0] == doctest::Approx(residual).epsilon(1e-12));
  const double walls = mse("bc", [&](double x, double y) {
    const CornerFlow c = cavity_corner_flow(x, y);
    return std::pair{(y == 1.0 ? 1.0 : 0.0) - c.u, -c.v};
  });
  CHECK(lg.term_mse[1] == doctest::Approx(walls).epsilon(1e-12));
  RowMat<double> pts(3, 2);
  pts << 0.2, 0.9, 0.5, 0.5, 0.97, 0.99;
  const RowMat<double> uv = m.evaluate(pts, {"u", "v", "speed"});
  for (Index i = 0; i < pts.rows(); ++i) {
    const CornerFlow c = cavity_corner_flow(pts(i, 0), pts(i, 1));
    CHECK(uv(i, 0) == c.u);
    CHECK(uv(i, 1) == c.v);
    CHECK(uv(i, 2) == doctest::Approx(std::hypot(c.u, c.v)).epsilon(1e-15));
  }
  // Without it the same zero network has zero velocity.
  Json plain = cfg;
  plain["pde"]["corner_flow"] = false;
  Model<> p("cavity", plain);
  p.set_parameters(zero);
  CHECK(p.evaluate(pts, {"u", "v"}).cwiseAbs().maxCoeff() == 0.0);
}

// pde.front_share: that share of Burgers' PDE points is drawn in |x| <= front_width, the rest by a Latin hypercube
// over the domain, which puts exactly one point in each x stratum of width 2/n (so 10 of 200 in a band of 0.1),
// the two mixed in a random order.
TEST_CASE("burgers pde.front_share: that share of the PDE points lies in the band around the front") {
  const Json cfg = {{"pde", {{"front_share", 0.5}, {"front_width", 0.05}}},
                    {"net", {{"depth", 2}, {"width", 8}}},
                    {"points", {{"collocation", 400}}}};
  Model<> m("burgers", cfg);
  const std::vector<double> p = m.checkpoint().get<double>("term.residual.points");  // (t, x) pairs
  REQUIRE(p.size() == 800);
  int in_band = 0, in_domain = 0;
  for (std::size_t i = 0; i < p.size(); i += 2) {
    in_band += std::abs(p[i + 1]) <= 0.05;
    in_domain += p[i] >= 0 && p[i] <= 1 && std::abs(p[i + 1]) <= 1;
  }
  CHECK(in_domain == 400);
  CHECK(in_band >= 209);
  CHECK(in_band <= 211);
  // Mixed over the index order, so each contiguous quarter (as the batch SNR cuts the points) holds about a quarter
  // of the band's points (52 expected; a binomial spread of about 5).
  for (std::size_t q = 0; q < 4; ++q) {
    int band = 0;
    for (std::size_t i = 200 * q; i < 200 * (q + 1); i += 2) band += std::abs(p[i + 1]) <= 0.05;
    CAPTURE(q);
    CHECK(band >= 30);
    CHECK(band <= 75);
  }
  Json bad = cfg;
  bad["pde"]["front_share"] = 1.0;
  CHECK_THROWS_WITH_AS(Model<>("burgers", bad), doctest::Contains("'pde.front_share' must be in [0, 1)"), Error);
  bad = cfg;
  bad["pde"]["front_width"] = 0.0;
  CHECK_THROWS_WITH_AS(Model<>("burgers", bad), doctest::Contains("'pde.front_width' must be in (0, 1]"), Error);
}
