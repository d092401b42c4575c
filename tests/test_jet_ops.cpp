// Jets of every tape op in float64: against nested central finite differences (tolerances in test_helpers.h,
// FdPlan), against hand-written closed-form derivatives of compositions (1e-12), and through exact identities
// (sin^2 + cos^2 = 1, exp(log w) = w: 1e-14). Collapsed streams (lap, lap_x, lap_y) are checked against sums
// of pure streams computed in a separate full third-order StreamSet (1e-12) and against differences.
#include <doctest/doctest.h>

#include <cmath>

#include "test_helpers.h"

using namespace jetpinn;
using jt::Mat;

namespace {

using V = Var<double>;


// A 2 -> 3 -> 2 pair of affine layers with random weights and nonzero biases.
struct Layers {
  ParamStore<double> ps;
  int w1, b1, w2, b2;
  Layers() {
    w1 = ps.add("W1", 3, 2, false);
    b1 = ps.add("b1", 1, 3, true);
    w2 = ps.add("W2", 2, 3, false);
    b2 = ps.add("b2", 1, 2, true);
    Rng rng(7);
    for (Index i = 0; i < ps.size(); ++i) ps.values()[i] = 0.8 * rng.normal();
  }
};

Mat points(std::uint64_t seed, Index n = 5, double lo = -1, double hi = 1) {
  Rng rng(seed);
  return jt::random_points(rng, n, {{lo, hi}, {lo, hi}});
}

// Closed-form expectation: D_m for every multi-index of each stream (summed over a collapsed stream's terms).
std::vector<Mat> expected_jet(const StreamSet& ss, const std::function<Mat(const MultiIndex&)>& d) {
  std::vector<Mat> out;
  for (int s = 0; s < ss.size(); ++s) {
    const Stream& st = ss.stream(s);
    if (st.terms.empty()) {
      out.push_back(d({}));
      continue;
    }
    Mat acc = d(st.terms[0]);
    for (std::size_t t = 1; t < st.terms.size(); ++t) acc += d(st.terms[t]);
    out.push_back(acc);
  }
  return out;
}

// Per-stream scale-aware comparison: atol = rtol * max|expected stream| (the whole jet's largest entry when the
// stream is identically zero), since rounding in stream s is eps times the size of the terms forming it.
void compare_jet(const std::string& label, const StreamSet& ss, const std::vector<Mat>& actual,
                 const std::vector<Mat>& expected, double rtol, const std::string& key) {
  double global = 0;
  for (const Mat& e : expected) global = std::max(global, jt::max_abs(e));
  for (int s = 0; s < ss.size(); ++s) {
    const double sc = jt::max_abs(expected[static_cast<std::size_t>(s)]);
    jt::compare(label + " " + jt::stream_label(ss, s), actual[static_cast<std::size_t>(s)],
                expected[static_cast<std::size_t>(s)], jt::scaled(rtol, sc > 0 ? sc : global), key);
  }
}

// Runs `build` with the collapsed set and with the full set; lap = xx + yy, lap_x = xxx + xyy,
// lap_y = xxy + yyy, and the shared pure streams must agree. Summation order differs between the two
// programs (folded vs term by term), so agreement is to rounding: 1e-12 of each stream's scale.
void check_collapsed_vs_full(const std::string& label, const jt::Builder& build, ParamStore<double>* ps,
                             const Mat& X) {
  const auto F = jt::full_xy(), L = jt::lap_xy();
  const auto full = jt::jet_streams(build, ps, X, F);
  const auto lap = jt::jet_streams(build, ps, X, L);
  auto f = [&](const char* n) { return full[static_cast<std::size_t>(F->index(n))]; };
  std::vector<Mat> expected;
  for (int s = 0; s < L->size(); ++s) {
    const std::string& n = L->stream(s).name;
    if (n == "lap")
      expected.push_back(f("xx") + f("yy"));
    else if (n == "lap_x")
      expected.push_back(f("xxx") + f("xyy"));
    else if (n == "lap_y")
      expected.push_back(f("xxy") + f("yyy"));
    else
      expected.push_back(f(n.c_str()));
  }
  compare_jet(label + " [collapsed vs full set]", *L, lap, expected, 1e-12, "collapsed vs sum of pure streams (rtol 1e-12)");
}

struct OpCase {
  std::string name;
  jt::Builder build;
};

// Inner functions: z = affine (linear in x, y: only first-order input streams nonzero) and a nonlinear w whose
// every stream up to third order is nonzero, so each op sees all of its chain-rule terms.
V inner_w(Tape<double>& t, V x, const Layers& L) {
  V z = t.affine(x, L.w1, L.b1);
  return z + 0.3 * sin(z) * (z + 0.5);
}

std::vector<OpCase> op_cases(const Layers& L) {
  std::vector<OpCase> c;
  auto lin = [&L](Tape<double>& t, V x) { return t.affine(x, L.w1, L.b1); };
  auto add = [&](std::string name, std::function<V(Tape<double>&, V)> op) {
    c.push_back({name + "(affine)", [=](Tape<double>& t, V x) { return op(t, lin(t, x)); }});
    c.push_back({name + "(nonlinear)", [=, &L](Tape<double>& t, V x) { return op(t, inner_w(t, x, L)); }});
  };
  c.push_back({"affine", lin});
  c.push_back({"affine(tanh(affine))", [&L](Tape<double>& t, V x) {
                 return t.affine(tanh(t.affine(x, L.w1, L.b1)), L.w2, L.b2);
               }});
  c.push_back({"affine without bias", [&L](Tape<double>& t, V x) { return t.affine(x, L.w1, -1); }});
  add("tanh", [](Tape<double>&, V v) { return tanh(v); });
  add("sin", [](Tape<double>&, V v) { return sin(v); });
  add("cos", [](Tape<double>&, V v) { return cos(v); });
  add("exp", [](Tape<double>&, V v) { return exp(v); });
  add("log(1+v^2)", [](Tape<double>&, V v) { return log(1.0 + v * v); });
  add("log(4+v)", [](Tape<double>&, V v) { return log(4.0 + v); });
  add("sigmoid", [](Tape<double>&, V v) { return sigmoid(v); });
  add("softplus", [](Tape<double>&, V v) { return softplus(v); });
  add("erf", [](Tape<double>&, V v) { return erf(v); });
  add("add", [](Tape<double>&, V v) { return tanh(v) + sin(v); });
  add("sub", [](Tape<double>&, V v) { return sin(v) - exp(0.5 * v); });
  add("mul", [](Tape<double>&, V v) { return tanh(v) * exp(0.5 * v); });
  add("mul(self)", [](Tape<double>&, V v) { return v * v; });
  add("div", [](Tape<double>&, V v) { return sin(v) / (2.6 + cos(v)); });
  for (int p : {0, 1, 2, 3, 4}) add("pow" + std::to_string(p), [p](Tape<double>&, V v) { return pow(v, p); });
  for (int p : {-1, -2, -3})
    add("pow" + std::to_string(p), [p](Tape<double>&, V v) { return pow(2.6 + sin(v), p); });
  add("scale", [](Tape<double>&, V v) { return 2.5 * v; });
  add("scale right", [](Tape<double>&, V v) { return v * -1.5; });
  add("divide by scalar", [](Tape<double>&, V v) { return v / 4.0; });
  add("negate", [](Tape<double>&, V v) { return -v; });
  add("add scalar", [](Tape<double>&, V v) { return tanh(v) + 2.0; });
  add("add scalar left", [](Tape<double>&, V v) { return 2.0 + tanh(v); });
  add("sub scalar", [](Tape<double>&, V v) { return tanh(v) - 2.0; });
  add("scalar minus", [](Tape<double>&, V v) { return 3.0 - tanh(v); });
  add("scalar over", [](Tape<double>&, V v) { return 2.0 / (2.6 + sin(v)); });
  add("col", [](Tape<double>&, V v) { return tanh(v).col(1); });
  add("slice_cols", [](Tape<double>& t, V v) { return t.slice_cols(sin(v), 1, 3); });
  add("concat_cols", [](Tape<double>&, V v) { return concat_cols(tanh(v.col(0)), sin(v.col(2))); });
  add("linear_const", [](Tape<double>& t, V v) {
    RowMat<double> C(2, 3);
    C << 0.5, -1.25, 2.0, 1.5, 0.25, -0.75;
    return t.linear_const(tanh(v), C);
  });
  add("concat of slices", [](Tape<double>& t, V v) {
    return concat_cols(t.slice_cols(v, 2, 3), t.slice_cols(v, 0, 2)) * cos(v);
  });
  return c;
}

}  // namespace

TEST_CASE("core: op jets against finite differences (float64, third order, mixed and collapsed)") {
  Layers L;
  const Mat X = points(11);
  for (const OpCase& c : op_cases(L)) {
    CAPTURE(c.name);
    jt::check_jets_against_fd("op " + c.name, c.build, &L.ps, X, jt::full_xy());
    jt::check_jets_against_fd("op " + c.name, c.build, &L.ps, X, jt::lap_xy());
  }
  jt::report_tolerance_use("op jets vs FD");
}

TEST_CASE("core: collapsed lap, lap_x, lap_y equal sums of pure streams of a full set") {
  Layers L;
  const Mat X = points(12);
  for (const OpCase& c : op_cases(L)) {
    CAPTURE(c.name);
    check_collapsed_vs_full("op " + c.name, c.build, &L.ps, X);
  }
  // In one set holding both kinds, the collapsed streams equal the sums of the pure ones.
  auto both = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy", "lap_x", "lap_y"}, {"x", "y"});
  for (const OpCase& c : op_cases(L)) {
    const auto j = jt::jet_streams(c.build, &L.ps, X, both);
    auto g = [&](const char* n) { return j[static_cast<std::size_t>(both->index(n))]; };
    const double sc = jt::max_abs(g("xxx")) + jt::max_abs(g("xyy")) + jt::max_abs(g("xxy")) + jt::max_abs(g("yyy"));
    const std::string key = "collapsed vs pure in one set (rtol 1e-12)";
    jt::compare("op " + c.name + " lap", g("lap"), g("xx") + g("yy"), jt::scaled(1e-12, sc + jt::max_abs(g("xx"))), key);
    jt::compare("op " + c.name + " lap_x", g("lap_x"), g("xxx") + g("xyy"), jt::scaled(1e-12, sc), key);
    jt::compare("op " + c.name + " lap_y", g("lap_y"), g("xxy") + g("yyy"), jt::scaled(1e-12, sc), key);
  }
  jt::report_tolerance_use("collapsed vs full");
}

TEST_CASE("core: op jets against closed-form derivatives") {
  const auto F = jt::full_xy(), Lp = jt::lap_xy();
  const Mat X = points(13);
  const std::string key = "closed form (rtol 1e-12)";
  auto run = [&](const StreamSetPtr& ss, const std::function<V(Tape<double>&, V)>& f, const Mat& pts) {
    return jt::jet_streams(f, nullptr, pts, ss);
  };
  auto ex = [](const MultiIndex& m, int i) { return static_cast<int>(std::count(m.begin(), m.end(), i)); };

  // tanh(a x + b y): D_m = tanh^(n)(z) a^#x b^#y, with tanh' = 1 - t^2, tanh'' = -2 t (1 - t^2),
  // tanh''' = -2 (1 - t^2)(1 - 3 t^2).
  {
    const double a = 0.7, b = -1.3;
    auto f = [&](Tape<double>&, V x) { return tanh(a * x.col(0) + b * x.col(1)); };
    auto d = [&](const MultiIndex& m) {
      Mat out(X.rows(), 1);
      for (Index i = 0; i < X.rows(); ++i) {
        const double t = std::tanh(a * X(i, 0) + b * X(i, 1)), s = 1 - t * t;
        const double fd[4] = {t, s, -2 * t * s, -2 * s * (1 - 3 * t * t)};
        out(i, 0) = fd[m.size()] * std::pow(a, ex(m, 0)) * std::pow(b, ex(m, 1));
      }
      return out;
    };
    for (const auto& ss : {F, Lp}) compare_jet("tanh(ax+by)", *ss, run(ss, f, X), expected_jet(*ss, d), 1e-12, key);
    // The same with multi-letter input names, the Laplacian and its derivative over (x1, x2).
    auto M = StreamSet::make({"x1", "x2"}, {"x1,x1,x2", "lap_x1", "lap_x2"}, {"x1", "x2"});
    compare_jet("tanh(a x1 + b x2)", *M, run(M, f, X), expected_jet(*M, d), 1e-12, key);
  }
  // sin(x) exp(y): D_m = sin^(#x)(x) exp(y).
  {
    auto f = [](Tape<double>&, V x) { return sin(x.col(0)) * exp(x.col(1)); };
    auto d = [&](const MultiIndex& m) {
      Mat out(X.rows(), 1);
      for (Index i = 0; i < X.rows(); ++i) {
        const double sx = std::sin(X(i, 0)), cx = std::cos(X(i, 0));
        const double sd[4] = {sx, cx, -sx, -cx};
        out(i, 0) = sd[ex(m, 0)] * std::exp(X(i, 1));
      }
      return out;
    };
    for (const auto& ss : {F, Lp}) compare_jet("sin(x)exp(y)", *ss, run(ss, f, X), expected_jet(*ss, d), 1e-12, key);
  }
  // 1/(1+x^2), by division and by a negative power: g' = -2x/(1+x^2)^2, g'' = (6x^2-2)/(1+x^2)^3,
  // g''' = 24 x (1-x^2)/(1+x^2)^4; any y in the multi-index gives 0.
  {
    auto d = [&](const MultiIndex& m) {
      Mat out(X.rows(), 1);
      for (Index i = 0; i < X.rows(); ++i) {
        const double x = X(i, 0), q = 1 + x * x;
        const double g[4] = {1 / q, -2 * x / (q * q), (6 * x * x - 2) / (q * q * q), 24 * x * (1 - x * x) / (q * q * q * q)};
        out(i, 0) = ex(m, 1) ? 0.0 : g[m.size()];
      }
      return out;
    };
    auto f1 = [](Tape<double>&, V x) { return 1.0 / (1.0 + x.col(0) * x.col(0)); };
    auto f2 = [](Tape<double>&, V x) { return pow(1.0 + pow(x.col(0), 2), -1); };
    auto f3 = [](Tape<double>&, V x) { return (x.col(0) - x.col(0) + 1.0) / (1.0 + square(x.col(0))); };
    for (const auto& ss : {F, Lp}) {
      compare_jet("1/(1+x^2) by division", *ss, run(ss, f1, X), expected_jet(*ss, d), 1e-12, key);
      compare_jet("1/(1+x^2) by pow -1", *ss, run(ss, f2, X), expected_jet(*ss, d), 1e-12, key);
      compare_jet("1/(1+x^2) by jet/jet", *ss, run(ss, f3, X), expected_jet(*ss, d), 1e-12, key);
    }
  }
  // x^3 by pow and by products: 3x^2, 6x, 6.
  {
    auto d = [&](const MultiIndex& m) {
      Mat out(X.rows(), 1);
      for (Index i = 0; i < X.rows(); ++i) {
        const double x = X(i, 0);
        const double g[4] = {x * x * x, 3 * x * x, 6 * x, 6};
        out(i, 0) = ex(m, 1) ? 0.0 : g[m.size()];
      }
      return out;
    };
    auto f1 = [](Tape<double>&, V x) { return pow(x.col(0), 3); };
    auto f2 = [](Tape<double>&, V x) { return x.col(0) * x.col(0) * x.col(0); };
    for (const auto& ss : {F, Lp}) {
      compare_jet("x^3 by pow", *ss, run(ss, f1, X), expected_jet(*ss, d), 1e-12, key);
      compare_jet("x^3 by products", *ss, run(ss, f2, X), expected_jet(*ss, d), 1e-12, key);
    }
  }
  // Integer powers x^p, p = -3..4, on x in [0.5, 1.5]: D^k x^p = p (p-1) ... (p-k+1) x^(p-k).
  {
    const Mat Xp = points(14, 5, 0.5, 1.5);
    for (int p = -3; p <= 4; ++p) {
      auto d = [&](const MultiIndex& m) {
        Mat out(Xp.rows(), 1);
        const int k = static_cast<int>(m.size());
        for (Index i = 0; i < Xp.rows(); ++i) {
          double c = 1;
          for (int j = 0; j < k; ++j) c *= p - j;
          out(i, 0) = ex(m, 1) ? 0.0 : c * std::pow(Xp(i, 0), p - k);
        }
        return out;
      };
      auto f = [p](Tape<double>&, V x) { return pow(x.col(0), p); };
      for (const auto& ss : {F, Lp})
        compare_jet("x^" + std::to_string(p), *ss, run(ss, f, Xp), expected_jet(*ss, d), 1e-12, key);
    }
  }
  // Each activation of z = a x + b y + c against derivatives written here from their definitions:
  // sigmoid' = s(1-s), sigmoid'' = s(1-s)(1-2s), sigmoid''' = s(1-s)(1-6s+6s^2); softplus^(k) = sigmoid^(k-1);
  // log^(k)(z) = (-1)^(k-1) (k-1)! / z^k; erf' = 2/sqrt(pi) e^(-y^2) = g, erf'' = -2y g, erf''' = (4y^2 - 2) g
  // (at y = z - 2.2 in [-1.5, 1.5], where erf is not flat); exp, sin, cos.
  {
    const double a = 0.9, b = 0.6, c = 2.2;  // z in [0.7, 3.7] > 0 for log
    struct Fn {
      const char* name;
      std::function<V(V)> f;
      std::function<double(double, int)> d;
    };
    auto sg = [](double z) { return 1 / (1 + std::exp(-z)); };
    std::vector<Fn> fns = {
        {"exp", [](V z) { return exp(z); }, [](double z, int) { return std::exp(z); }},
        {"erf", [](V z) { return erf(z - 2.2); },
         [](double z, int k) {
           const double y = z - 2.2, g = 2 / std::sqrt(M_PI) * std::exp(-y * y);
           const double v[4] = {std::erf(y), g, -2 * y * g, (4 * y * y - 2) * g};
           return v[k];
         }},
        {"log", [](V z) { return log(z); },
         [](double z, int k) { return k == 0 ? std::log(z) : (k == 1 ? 1 / z : (k == 2 ? -1 / (z * z) : 2 / (z * z * z))); }},
        {"sin", [](V z) { return sin(z); },
         [](double z, int k) { const double v[4] = {std::sin(z), std::cos(z), -std::sin(z), -std::cos(z)}; return v[k]; }},
        {"cos", [](V z) { return cos(z); },
         [](double z, int k) { const double v[4] = {std::cos(z), -std::sin(z), -std::cos(z), std::sin(z)}; return v[k]; }},
        {"sigmoid", [](V z) { return sigmoid(z); },
         [sg](double z, int k) {
           const double s = sg(z), v[4] = {s, s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)};
           return v[k];
         }},
        {"softplus", [](V z) { return softplus(z); },
         [sg](double z, int k) {
           const double s = sg(z), v[4] = {std::log1p(std::exp(z)), s, s * (1 - s), s * (1 - s) * (1 - 2 * s)};
           return v[k];
         }},
        {"tanh", [](V z) { return tanh(z); },
         [](double z, int k) {
           const double t = std::tanh(z), v[4] = {t, 1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t)};
           return v[k];
         }},
    };
    for (const Fn& fn : fns) {
      auto f = [&](Tape<double>&, V x) { return fn.f(a * x.col(0) + b * x.col(1) + c); };
      auto d = [&](const MultiIndex& m) {
        Mat out(X.rows(), 1);
        for (Index i = 0; i < X.rows(); ++i)
          out(i, 0) = fn.d(a * X(i, 0) + b * X(i, 1) + c, static_cast<int>(m.size())) * std::pow(a, ex(m, 0)) *
                      std::pow(b, ex(m, 1));
        return out;
      };
      for (const auto& ss : {F, Lp})
        compare_jet(std::string(fn.name) + "(ax+by+c)", *ss, run(ss, f, X), expected_jet(*ss, d), 1e-12, key);
    }
  }
  // Affine layer: D_x (X W^T + b) = W[:, 0]^T on every row, second and third streams exactly zero.
  {
    Layers L;
    auto f = [&L](Tape<double>& t, V x) { return t.affine(x, L.w1, L.b1); };
    const auto W = L.ps.value(L.w1);
    const auto B = L.ps.value(L.b1);
    auto d = [&](const MultiIndex& m) {
      Mat out(X.rows(), 3);
      for (Index i = 0; i < X.rows(); ++i)
        for (Index o = 0; o < 3; ++o)
          out(i, o) = m.empty() ? W(o, 0) * X(i, 0) + W(o, 1) * X(i, 1) + B(0, o) : (m.size() == 1 ? W(o, m[0]) : 0.0);
      return out;
    };
    for (const auto& ss : {F, Lp}) {
      const auto j = jt::jet_streams(f, &L.ps, X, ss);
      compare_jet("affine", *ss, j, expected_jet(*ss, d), 1e-12, key);
      for (int s = 1; s < ss->size(); ++s)
        if (ss->stream(s).order() > 1) CHECK(jt::max_abs(j[static_cast<std::size_t>(s)]) == 0.0);
    }
  }
  jt::report_tolerance_use("closed form");
}

TEST_CASE("core: activation jets over a wide range of arguments (saturation, tails)") {
  // z = a x + c reaching |z| ~ 20 (log: z = 1000 |x| + 1e-3 in [1e-3, 1e3]); derivatives of f(z) written from
  // their definitions.
  // Per-stream scale-aware comparison at 1e-12, as in the closed-form test.
  Rng rng(19);
  Mat X = jt::random_points(rng, 24, {{-1.0, 1.0}, {-1.0, 1.0}});
  X(0, 0) = 1;
  X(1, 0) = -1;
  X(2, 0) = 0;
  X(3, 0) = -0.05;
  const std::string key = "closed form, wide range (rtol 1e-12)";
  auto sg = [](double z) { return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z)); };
  struct Fn {
    const char* name;
    double a, c;
    std::function<V(V)> f;
    std::function<double(double, int)> d;
  };
  const std::vector<Fn> fns = {
      {"tanh", 20, 0, [](V z) { return tanh(z); },
       [](double z, int k) {
         const double t = std::tanh(z), v[4] = {t, 1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t)};
         return v[k];
       }},
      {"sigmoid", 20, 0, [](V z) { return sigmoid(z); },
       [sg](double z, int k) {
         const double s = sg(z), v[4] = {s, s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)};
         return v[k];
       }},
      {"softplus", 20, 0, [](V z) { return softplus(z); },
       [sg](double z, int k) {
         const double s = sg(z);
         const double v[4] = {std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))), s, s * (1 - s), s * (1 - s) * (1 - 2 * s)};
         return v[k];
       }},
      {"exp", 20, 0, [](V z) { return exp(z); }, [](double z, int) { return std::exp(z); }},
      {"sin", 20, 0, [](V z) { return sin(z); },
       [](double z, int k) { const double v[4] = {std::sin(z), std::cos(z), -std::sin(z), -std::cos(z)}; return v[k]; }},
      {"log", 1000, 1e-3, [](V z) { return log(z); },
       [](double z, int k) { const double v[4] = {std::log(z), 1 / z, -1 / (z * z), 2 / (z * z * z)}; return v[k]; }},
  };
  Mat Xpos = X;  // for log: x >= 0, exact zero included
  Xpos.col(0) = X.col(0).cwiseAbs();
  for (const auto& ss : {jt::full_xy(), jt::lap_xy()})
    for (const Fn& fn : fns) {
      const Mat& P = std::string(fn.name) == "log" ? Xpos : X;
      auto f = [&](Tape<double>&, V x) { return fn.f(fn.a * x.col(0) + fn.c); };
      auto d = [&](const MultiIndex& m) {
        Mat out(P.rows(), 1);
        const bool has_y = std::count(m.begin(), m.end(), 1) > 0;
        for (Index i = 0; i < P.rows(); ++i)
          out(i, 0) = has_y ? 0.0 : fn.d(fn.a * P(i, 0) + fn.c, static_cast<int>(m.size())) * std::pow(fn.a, m.size());
        return out;
      };
      compare_jet(std::string(fn.name) + " wide", *ss, jt::jet_streams(f, nullptr, P, ss), expected_jet(*ss, d), 1e-12,
                  key);
    }
  jt::report_tolerance_use("wide range");
}

TEST_CASE("core: identities through jets: sin^2+cos^2 = 1, exp(log w) = w, log(exp w) = w") {
  const Mat X = points(15);
  const std::string key = "identities (rtol 1e-14)";
  for (const auto& ss : {jt::full_xy(), jt::lap_xy()}) {
    // z with every stream nonzero; sin(z)^2 + cos(z)^2: value 1, every derivative stream 0. Rounding is eps times
    // the size of the cancelling terms, so the absolute tolerance is 1e-14 times the largest stream of sin(z)^2.
    auto z = [](V x) { return x.col(0) * x.col(1) + sin(2.0 * x.col(0)) - 0.5 * x.col(1) * x.col(1) * x.col(1); };
    auto one = jt::jet_streams([&](Tape<double>&, V x) { V s = z(x); return sin(s) * sin(s) + cos(s) * cos(s); },
                               nullptr, X, ss);
    auto sin2 = jt::jet_streams([&](Tape<double>&, V x) { V s = z(x); return sin(s) * sin(s); }, nullptr, X, ss);
    double scale = 0;
    for (const Mat& m : sin2) scale = std::max(scale, jt::max_abs(m));
    for (int s = 0; s < ss->size(); ++s)
      jt::compare("sin^2+cos^2 " + jt::stream_label(*ss, s), one[static_cast<std::size_t>(s)],
                  Mat::Constant(X.rows(), 1, s == 0 ? 1.0 : 0.0), jt::scaled(1e-14, scale), key);

    // exp(log x) on the input column itself (x in [0.5, 1.5]): every stream equals the input jet's own
    // (value x, u_x = 1, all others 0).
    const Mat Xp = points(16, 5, 0.5, 1.5);
    auto in = jt::jet_streams([](Tape<double>&, V x) { return x.col(0); }, nullptr, Xp, ss);
    auto el = jt::jet_streams([](Tape<double>&, V x) { return exp(log(x.col(0))); }, nullptr, Xp, ss);
    CHECK(jt::max_abs(in[static_cast<std::size_t>(ss->index("x"))] - Mat::Ones(Xp.rows(), 1)) == 0.0);
    for (int s = 0; s < ss->size(); ++s)
      jt::compare("exp(log x) " + jt::stream_label(*ss, s), el[static_cast<std::size_t>(s)],
                  in[static_cast<std::size_t>(s)], jt::scaled(1e-14, 1.5), key);

    // exp(log w), log(exp w) for a positive w with every stream nonzero.
    auto w = [](V x) { return 2.0 + sin(x.col(0) * x.col(1)) + 0.3 * exp(x.col(1)); };
    auto wj = jt::jet_streams([&](Tape<double>&, V x) { return w(x); }, nullptr, X, ss);
    auto ew = jt::jet_streams([&](Tape<double>&, V x) { return exp(log(w(x))); }, nullptr, X, ss);
    auto lw = jt::jet_streams([&](Tape<double>&, V x) { return log(exp(w(x))); }, nullptr, X, ss);
    for (int s = 0; s < ss->size(); ++s) {
      const double sc = std::max(jt::max_abs(wj[static_cast<std::size_t>(s)]), jt::max_abs(wj[0]));
      jt::compare("exp(log w) " + jt::stream_label(*ss, s), ew[static_cast<std::size_t>(s)],
                  wj[static_cast<std::size_t>(s)], jt::scaled(1e-14, sc), key);
      jt::compare("log(exp w) " + jt::stream_label(*ss, s), lw[static_cast<std::size_t>(s)],
                  wj[static_cast<std::size_t>(s)], jt::scaled(1e-14, sc), key);
    }
  }
  jt::report_tolerance_use("identities");
}

TEST_CASE("core: column slice and concat move streams exactly") {
  Layers L;
  const Mat X = points(17);
  for (const auto& ss : {jt::full_xy(), jt::lap_xy()}) {
    Tape<double> t(&L.ps);
    V z = sin(t.affine(t.input(X, ss), L.w1, L.b1));  // P x 3 jet
    V c1 = z.col(1), mid = t.slice_cols(z, 1, 3), cat = concat_cols(z.col(2), t.slice_cols(z, 0, 2));
    CHECK(c1.cols() == 1);
    CHECK(mid.cols() == 2);
    CHECK(cat.cols() == 3);
    for (int s = 0; s < ss->size(); ++s) {
      const Mat zs = jt::stream_of(z, s);
      CHECK(jt::stream_of(c1, s) == zs.col(1));
      CHECK(jt::stream_of(mid, s) == zs.middleCols(1, 2));
      CHECK(jt::stream_of(cat, s).col(0) == zs.col(2));
      CHECK(jt::stream_of(cat, s).rightCols(2) == zs.leftCols(2));
    }
  }
}

TEST_CASE("core: reductions sum and mean of streams") {
  Layers L;
  const Mat X = points(18, 6);
  const auto ss = jt::full_xy();
  auto net = [&L](Tape<double>& t, V x) { return t.affine(tanh(t.affine(x, L.w1, L.b1)), L.w2, L.b2); };
  Tape<double> t(&L.ps);
  V u = net(t, t.input(X, ss));
  for (const char* n : {"", "x", "xy", "yy", "xxy"}) {
    CAPTURE(n);
    const Mat s = jt::stream_of(u, n);
    V su = sum(u.d(n)), mu = mean(u.d(n));
    CHECK(su.value().rows() == 1);
    CHECK(su.value().cols() == 1);
    jt::compare(std::string("sum of u_") + n, jt::value_of(su), Mat::Constant(1, 1, s.sum()),
                jt::scaled(1e-14, s.cwiseAbs().sum()), "reductions (rtol 1e-14)");
    jt::compare(std::string("mean of u_") + n, jt::value_of(mu), Mat::Constant(1, 1, s.mean()),
                jt::scaled(1e-14, s.cwiseAbs().mean()), "reductions (rtol 1e-14)");
  }
  // The reduction of a derivative stream is the derivative of the reduction when every point moves at once:
  // sum_i u_x(p_i) = d/dx sum_i u(p_i + x e_x); same FD steps and tolerances as single points.
  for (const char* n : {"x", "y", "xx", "xy", "xxy", "yyy"}) {
    CAPTURE(n);
    const Stream& st = ss->stream(ss->index(n));
    const int o = st.order();
    auto summed = [&](const Mat& Xs) {
      Tape<double> tt(&L.ps);
      V v = net(tt, tt.input(Xs, StreamSet::value_only()));
      return jt::value_of(sum(v.col(0)));
    };
    auto meaned = [&](const Mat& Xs) {
      Tape<double> tt(&L.ps);
      V v = net(tt, tt.input(Xs, StreamSet::value_only()));
      return jt::value_of(mean(v));
    };
    jt::FdPlan plan;
    const Mat fd_sum = jt::fd_stream(summed, X, st, plan.h[o]);
    const Mat fd_mean = jt::fd_stream(meaned, X, st, plan.h[o]);
    Tape<double> t2(&L.ps);
    V w = net(t2, t2.input(X, ss));
    const Mat js = jt::value_of(sum(w.col(0).d(n))), jm = jt::value_of(mean(w.d(n)));
    const std::string key = "FD order " + std::to_string(o) + " of reductions (rtol " + jt::fmt(plan.rtol[o]) + ")";
    jt::compare(std::string("sum u_") + n, js, fd_sum,
                jt::scaled(plan.rtol[o], std::max(jt::max_abs(fd_sum), jt::max_abs(summed(X)))), key);
    jt::compare(std::string("mean u_") + n, jm, fd_mean,
                jt::scaled(plan.rtol[o], std::max(jt::max_abs(fd_mean), jt::max_abs(meaned(X)))), key);
  }
  jt::report_tolerance_use("reductions");
}
