// Jets of whole networks in float64 (plain, Fourier, modified, hard BC (x^2-1)(y^2-1) N(x, y), one and two
// outputs): every stream against finite differences (test_helpers.h, FdPlan), collapsed streams against the
// sums of pure streams of a full third-order set, exact periodicity of Fourier networks, exact zeros of the
// hard-BC transform on the boundary, and determinism of seeded initialisation.
#include <doctest/doctest.h>

#include <cstring>

#include "test_problems.h"

using namespace jetpinn;
using jt::Mat;
using jt::Net;

namespace {

using V = Var<double>;


jt::NetSpec spec_xy(int outputs = 1) {
  jt::NetSpec s;
  s.inputs = 2;
  s.outputs = outputs;
  s.periodic_input = 0;
  s.bc_cols = {0, 1};
  return s;
}

jt::Builder builder(const Mlp<double>& net) {
  return [&net](Tape<double>& t, V x) { return net.forward(t, x); };
}

Mat points_xy(std::uint64_t seed, Index n = 6) {
  Rng rng(seed);
  return jt::random_points(rng, n, {{-1.0, 1.0}, {-1.0, 1.0}});
}

}  // namespace

TEST_CASE("core: MLP jets against finite differences (plain, Fourier, modified, hard BC, 1 and 2 outputs)") {
  for (Net kind : jt::all_nets())
    for (int outputs : {1, 2}) {
      const std::string label = std::string(jt::net_name(kind)) + " " + std::to_string(outputs) + "-out";
      CAPTURE(label);
      Mlp<double> net = jt::make_net<double>(kind, spec_xy(outputs), 21 + outputs);
      const Mat X = points_xy(31);
      const auto plan = jt::FdPlan::with_lengths(jt::fd_lengths(kind, spec_xy(outputs)));
      jt::check_jets_against_fd(label, builder(net), &net.params(), X, jt::full_xy(), plan);
      jt::check_jets_against_fd(label, builder(net), &net.params(), X, jt::lap_xy(), plan);
    }
  jt::report_tolerance_use("MLP jets vs FD");
}

TEST_CASE("core: MLP collapsed streams equal sums of pure streams of a full third-order set") {
  const std::string key = "collapsed vs sum of pure streams (rtol 1e-12)";
  for (Net kind : jt::all_nets()) {
    CAPTURE(jt::net_name(kind));
    Mlp<double> net = jt::make_net<double>(kind, spec_xy(2), 41);
    const Mat X = points_xy(42);
    const auto F = jt::full_xy(), L = jt::lap_xy();
    const auto full = jt::jet_streams(builder(net), &net.params(), X, F);
    const auto lap = jt::jet_streams(builder(net), &net.params(), X, L);
    auto f = [&](const char* n) { return full[static_cast<std::size_t>(F->index(n))]; };
    auto l = [&](const char* n) { return lap[static_cast<std::size_t>(L->index(n))]; };
    const std::string nm = jt::net_name(kind);
    // Rounding differs only by summation order: 1e-12 of the size of the summed streams.
    auto cmp = [&](const char* what, const Mat& a, const Mat& b, double sc) {
      jt::compare(nm + " " + what, a, b, jt::scaled(1e-12, sc), key);
    };
    cmp("lap", l("lap"), f("xx") + f("yy"), jt::max_abs(f("xx")) + jt::max_abs(f("yy")));
    cmp("lap_x", l("lap_x"), f("xxx") + f("xyy"), jt::max_abs(f("xxx")) + jt::max_abs(f("xyy")));
    cmp("lap_y", l("lap_y"), f("xxy") + f("yyy"), jt::max_abs(f("xxy")) + jt::max_abs(f("yyy")));
    for (const char* n : {"", "x", "y", "xx", "xy", "yy"}) cmp(n, l(n), f(n), jt::max_abs(f(n)));
  }
  jt::report_tolerance_use("MLP collapsed vs full");
}

TEST_CASE("core: MLP with inputs (t, x, y): txx, xxx, xy, lap, lap_t, lap_x against a full set and FD") {
  auto A = StreamSet::make({"t", "x", "y"}, {"txx", "xxx", "xy", "lap", "lap_t", "lap_x"}, {"x", "y"});
  CHECK(A->describe() == "u, u_t, u_x, u_y, u_tx, u_ty, u_xx, u_xy, u_lap, u_txx, u_xxx, u_lap_t, u_lap_x (inputs t x y)");
  std::vector<std::string> all3;  // every third-order multi-index over (t, x, y): full closure, 20 streams
  const char* in = "txy";
  for (int a = 0; a < 3; ++a)
    for (int b = a; b < 3; ++b)
      for (int c = b; c < 3; ++c) all3.push_back({in[a], in[b], in[c]});
  auto F = StreamSet::make({"t", "x", "y"}, all3);
  CHECK(F->size() == 20);
  Rng rng(51);
  const Mat X = jt::random_points(rng, 6, {{0.0, 1.0}, {-1.0, 1.0}, {-1.0, 1.0}});
  const std::string key = "collapsed vs sum of pure streams (rtol 1e-12)";
  for (Net kind : jt::all_nets()) {
    jt::NetSpec spec;
    spec.inputs = 3;
    spec.periodic_input = 1;
    spec.bc_cols = {1, 2};
    Mlp<double> net = jt::make_net<double>(kind, spec, 52);
    const std::string nm = std::string(jt::net_name(kind)) + " (t,x,y)";
    CAPTURE(nm);
    jt::check_jets_against_fd(nm, builder(net), &net.params(), X, A, jt::FdPlan::with_lengths(jt::fd_lengths(kind, spec)));
    const auto a = jt::jet_streams(builder(net), &net.params(), X, A);
    const auto f = jt::jet_streams(builder(net), &net.params(), X, F);
    auto fs = [&](const char* n) { return f[static_cast<std::size_t>(F->index(n))]; };
    for (int s = 0; s < A->size(); ++s) {
      const Stream& st = A->stream(s);
      Mat expected = fs(s == 0 ? "" : jt::request_of(*A, st.terms[0]).c_str());
      double sc = jt::max_abs(expected);
      for (std::size_t t = 1; t < st.terms.size(); ++t) {
        const Mat more = fs(jt::request_of(*A, st.terms[t]).c_str());
        expected += more;
        sc += jt::max_abs(more);
      }
      jt::compare(nm + " " + jt::stream_label(*A, s) + " vs full set", a[static_cast<std::size_t>(s)], expected,
                  jt::scaled(1e-12, sc), key);
    }
  }
  jt::report_tolerance_use("MLP (t,x,y)");
}

TEST_CASE("core: Fourier MLP is exactly periodic in its periodic inputs, every stream") {
  const std::string key = "periodicity (rtol 1e-12)";
  for (bool modified : {false, true}) {
    MlpConfig cfg;
    cfg.inputs = 3;  // (t, x, y): periodic in x with period 2 * 1.5 and in y with period 2 * 0.5; t raw
    cfg.depth = 3;
    cfg.width = 16;
    cfg.modified = modified;
    cfg.fourier = {{1, 1.5, 3}, {2, 0.5, 2}};
    Mlp<double> net(cfg, 61);
    jt::randomize_biases(net, 62);
    auto ss = StreamSet::make({"t", "x", "y"}, {"txx", "xxy", "yyy", "lap", "lap_t"}, {"x", "y"});
    Rng rng(63);
    const Mat X = jt::random_points(rng, 6, {{0.0, 1.0}, {-1.0, 1.0}, {-1.0, 1.0}});
    const auto base = jt::jet_streams(builder(net), &net.params(), X, ss);
    struct Shift {
      int col;
      double by;
      bool periodic;
    };
    for (const Shift& sh : {Shift{1, 3.0, true}, Shift{1, -6.0, true}, Shift{2, 1.0, true}, Shift{2, 3.0, true},
                            Shift{1, 0.7, false}, Shift{0, 2.0, false}}) {
      Mat Xs = X;
      Xs.col(sh.col).array() += sh.by;
      const auto moved = jt::jet_streams(builder(net), &net.params(), Xs, ss);
      const std::string nm = std::string(modified ? "modified " : "") + "fourier shift col " +
                             std::to_string(sh.col) + " by " + jt::fmt(sh.by);
      if (sh.periodic) {
        // The features cos(k pi x / L) differ only by the rounding of their arguments (~eps k pi |x| / L); every
        // stream of the network then differs by ~1e-15 of its own scale.
        for (int s = 0; s < ss->size(); ++s)
          jt::compare(nm + " " + jt::stream_label(*ss, s), moved[static_cast<std::size_t>(s)],
                      base[static_cast<std::size_t>(s)],
                      jt::scaled(1e-12, jt::max_abs(base[static_cast<std::size_t>(s)])), key);
      } else {  // not a period: the network must notice (so the comparison above can fail)
        CHECK(jt::max_abs(moved[0] - base[0]) > 1e-3 * jt::max_abs(base[0]));
      }
    }
  }
  jt::report_tolerance_use("Fourier periodicity");
}

TEST_CASE("core: hard-BC transform vanishes on the boundary with its tangential derivatives") {
  Mlp<double> net = jt::make_net<double>(Net::HardBC, spec_xy(2), 71);
  Mlp<double> plain = jt::make_net<double>(Net::Plain, spec_xy(2), 71);
  const auto ss = jt::full_xy();
  Rng rng(72);
  Mat X = jt::random_points(rng, 8, {{-1.0, 1.0}, {-1.0, 1.0}});
  X(0, 0) = 1;
  X(1, 0) = -1;  // on x = +-1
  X(2, 1) = 1;
  X(3, 1) = -1;  // on y = +-1
  const auto u = jt::jet_streams(builder(net), &net.params(), X, ss);
  const auto n = jt::jet_streams(builder(plain), &plain.params(), X, ss);
  for (int s = 0; s < ss->size(); ++s) {
    const MultiIndex& m = ss->stream(s).terms.empty() ? MultiIndex{} : ss->stream(s).terms[0];
    const bool has_x = std::count(m.begin(), m.end(), 0) > 0, has_y = std::count(m.begin(), m.end(), 1) > 0;
    CAPTURE(jt::stream_label(*ss, s));
    // On x = +-1 the factor and all its y-derivatives are exactly 0, so are u and its pure y-derivatives.
    if (!has_x)
      for (int r : {0, 1}) CHECK(u[static_cast<std::size_t>(s)].row(r).cwiseAbs().maxCoeff() == 0.0);
    if (!has_y)
      for (int r : {2, 3}) CHECK(u[static_cast<std::size_t>(s)].row(r).cwiseAbs().maxCoeff() == 0.0);
  }
  // Same weights as the plain network: out = (x^2-1)(y^2-1) N, value and first derivatives by hand.
  for (Index i = 0; i < X.rows(); ++i) {
    const double x = X(i, 0), y = X(i, 1), g = (x * x - 1) * (y * y - 1);
    const double gx = 2 * x * (y * y - 1), gy = 2 * y * (x * x - 1);
    for (Index c = 0; c < 2; ++c) {
      CHECK(u[0](i, c) == doctest::Approx(g * n[0](i, c)).epsilon(1e-14));
      CHECK(u[1](i, c) == doctest::Approx(gx * n[0](i, c) + g * n[1](i, c)).epsilon(1e-12));
      CHECK(u[2](i, c) == doctest::Approx(gy * n[0](i, c) + g * n[2](i, c)).epsilon(1e-12));
    }
  }
}

TEST_CASE("core: MLP output transform with factor and offset: jets against FD and the composition") {
  // out = (x^2-1)(y^2-1) N + (x sin y + 0.5): the offset carries its own jet.
  Mlp<double> net = jt::make_net<double>(Net::HardBC, spec_xy(1), 91);
  Mlp<double> plain = jt::make_net<double>(Net::Plain, spec_xy(1), 91);
  auto offset = [](V x) { return x.col(0) * sin(x.col(1)) + 0.5; };
  net.set_output_transform(jt::box_factor<double>({0, 1}), offset);
  const Mat X = points_xy(92);
  jt::check_jets_against_fd("factor+offset", builder(net), &net.params(), X, jt::full_xy());
  jt::check_jets_against_fd("factor+offset", builder(net), &net.params(), X, jt::lap_xy());
  const jt::Builder composed = [&plain, &offset](Tape<double>& t, V x) {
    return jt::box_factor<double>({0, 1})(x) * plain.forward(t, x) + offset(x);
  };
  for (const auto& ss : {jt::full_xy(), jt::lap_xy()}) {
    const auto a = jt::jet_streams(builder(net), &net.params(), X, ss);
    const auto b = jt::jet_streams(composed, &plain.params(), X, ss);
    for (int s = 0; s < ss->size(); ++s)  // the same operations in the same order: bit for bit
      CHECK(a[static_cast<std::size_t>(s)] == b[static_cast<std::size_t>(s)]);
  }
  jt::report_tolerance_use("factor+offset");
}

TEST_CASE("core: MLP determinism: same seed gives bit-identical weights and outputs") {
  for (Net kind : jt::all_nets()) {
    CAPTURE(jt::net_name(kind));
    Mlp<double> a = jt::make_net<double>(kind, spec_xy(2), 81), b = jt::make_net<double>(kind, spec_xy(2), 81);
    Mlp<double> c = jt::make_net<double>(kind, spec_xy(2), 82);
    REQUIRE(a.params().size() == b.params().size());
    const std::size_t bytes = static_cast<std::size_t>(a.params().size()) * sizeof(double);
    CHECK(std::memcmp(a.params().values(), b.params().values(), bytes) == 0);
    CHECK(std::memcmp(a.params().values(), c.params().values(), bytes) != 0);
    const Mat X = points_xy(83, 40);
    const auto ja = jt::jet_streams(builder(a), &a.params(), X, jt::lap_xy());
    const auto jb = jt::jet_streams(builder(b), &b.params(), X, jt::lap_xy());
    const auto ja2 = jt::jet_streams(builder(a), &a.params(), X, jt::lap_xy());
    for (std::size_t s = 0; s < ja.size(); ++s) {
      CHECK(std::memcmp(ja[s].data(), jb[s].data(), static_cast<std::size_t>(ja[s].size()) * sizeof(double)) == 0);
      CHECK(std::memcmp(ja[s].data(), ja2[s].data(), static_cast<std::size_t>(ja[s].size()) * sizeof(double)) == 0);
    }
    // initialize(seed) re-draws the same weights (biases back to zero, as after construction).
    Mlp<double> d(a.config(), 81);
    c.initialize(81);
    CHECK(std::memcmp(c.params().values(), d.params().values(), bytes) == 0);
    // Float networks from the same seed hold the float-rounded float64 weights (drawn in float64).
    Mlp<float> f(a.config(), 81);
    for (Index i = 0; i < f.params().size(); ++i) CHECK(f.params().values()[i] == static_cast<float>(d.params().values()[i]));
  }
  // The Rng itself: splitmix64-seeded xoshiro256**, values of the reference algorithms (splitmix64 of 0 starts
  // 0xe220a8397b1dcdaf), so a platform or compiler dependence would show.
  Rng r0(0), r12345(12345);
  CHECK(r0.next() == 0x99ec5f36cb75f2b4ull);
  CHECK(r0.next() == 0xbf6e1f784956452aull);
  CHECK(r0.next() == 0x1a5f849d4933e6e0ull);
  CHECK(r12345.next() == 0xbe6a36374160d49bull);
  CHECK(r12345.next() == 0x214aaa0637a688c6ull);
  Rng r1(12345), r2(12345);
  for (int i = 0; i < 100; ++i) CHECK(r1.next() == r2.next());
  Rng r3(12345);
  r3.normal();
  auto st = r3.state();
  const double n1 = r3.normal(), n2 = r3.normal();
  r3.set_state(st);
  CHECK(r3.normal() == n1);
  CHECK(r3.normal() == n2);
}
