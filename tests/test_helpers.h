// Shared helpers of the core test suite: scale-aware tensor comparison that reports the worst entry and the
// share of the tolerance it used, central finite differences (nested 4th-order stencils) for input derivatives,
// and small utilities to pull jet streams out of a tape as double matrices.
//
// Comparison: an entry passes when |actual - expected| <= atol + rtol * |expected|. The share of tolerance used
// is max over entries of |actual - expected| / (atol + rtol * |expected|); a check passes when the share <= 1.
// Every comparison records its share in a ledger under a key naming the tolerance class; each TEST_CASE ends
// with report_tolerance_use(), which prints (MESSAGE) the worst share per class and where it occurred.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
#include "rng.h"
#include "streams.h"
#include "tape.h"

namespace jt {

using jetpinn::Index;
using jetpinn::MultiIndex;
using jetpinn::StreamSet;
using jetpinn::StreamSetPtr;
using Mat = jetpinn::RowMat<double>;

// Inputs (x, y) with every pure derivative up to third order, and the collapsed set (lap, lap_x, lap_y) that
// the tests compare with it; shared so that ops between their jets see one StreamSet each.
inline StreamSetPtr full_xy() {
  static auto s = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"});
  return s;
}
inline StreamSetPtr lap_xy() {
  static auto s = StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"});
  return s;
}

// ------------------------------------------------------------------------------------------------ comparison

struct Tol {
  double atol = 0, rtol = 0;
};
// Scale-aware tolerance: relative rtol per entry plus an absolute floor rtol * scale, where scale is the
// magnitude the error is naturally measured against (the largest entry of the quantity, or of its inputs).
inline Tol scaled(double rtol, double scale) { return {rtol * scale, rtol}; }

inline double max_abs(const Mat& m) { return m.size() ? m.cwiseAbs().maxCoeff() : 0.0; }

struct LedgerEntry {
  double share = 0;
  std::string where;
};
inline std::map<std::string, LedgerEntry>& ledger() {
  static std::map<std::string, LedgerEntry> l;
  return l;
}
inline void ledger_record(const std::string& key, double share, const std::string& where) {
  LedgerEntry& e = ledger()[key];
  if (!(share <= e.share) || e.where.empty()) e = {share, where};  // NaN shares win too
}

inline std::string fmt(double v, int prec = 3) {
  std::ostringstream os;
  os << std::setprecision(prec) << v;
  return os.str();
}

// Prints the worst share of each tolerance class used since the last report, then clears the ledger.
inline void report_tolerance_use(const std::string& test) {
  for (const auto& [key, e] : ledger()) {
    MESSAGE("tolerance use [" << test << "] " << key << ": worst " << fmt(100.0 * e.share) << "% of tolerance ("
                              << e.where << ")");
  }
  ledger().clear();
}

struct Comparison {
  double share = 0;  // worst |a - b| / (atol + rtol |b|)
  Index row = -1, col = -1;
  double actual = 0, expected = 0;
};

// Compares two same-shaped matrices entry by entry; records in the ledger under `key`, CHECKs share <= 1 and,
// on failure, names the worst entry. Returns the worst share.
inline double compare(const std::string& what, const Mat& actual, const Mat& expected, Tol tol,
                      const std::string& key) {
  REQUIRE_MESSAGE((actual.rows() == expected.rows() && actual.cols() == expected.cols()),
                  what << ": shapes differ " << actual.rows() << "x" << actual.cols() << " vs " << expected.rows()
                       << "x" << expected.cols());
  Comparison c;
  for (Index r = 0; r < actual.rows(); ++r)
    for (Index k = 0; k < actual.cols(); ++k) {
      const double a = actual(r, k), b = expected(r, k);
      const double allowed = tol.atol + tol.rtol * std::abs(b);
      double s = std::abs(a - b) / allowed;
      if (std::isnan(s) || std::isnan(a) != std::isnan(b)) s = std::numeric_limits<double>::infinity();
      if (a == b) s = 0;  // covers exact zeros with a zero tolerance
      if (!(s <= c.share) || c.row < 0) c = {s, r, k, a, b};
    }
  std::ostringstream where;
  where << what << " @(" << c.row << "," << c.col << "): " << std::setprecision(17) << c.actual << " vs "
        << c.expected << std::setprecision(3) << ", |diff| " << std::abs(c.actual - c.expected) << ", allowed "
        << tol.atol + tol.rtol * std::abs(c.expected) << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
  ledger_record(key, c.share, what);
  CHECK_MESSAGE(c.share <= 1.0, "worst entry used " << fmt(100 * c.share) << "% of tolerance: " << where.str());
  return c.share;
}

// ------------------------------------------------------------------------------------------- random points

inline Mat random_points(jetpinn::Rng& rng, Index n, const std::vector<std::pair<double, double>>& box) {
  Mat X(n, static_cast<Index>(box.size()));
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < X.cols(); ++j) X(i, j) = rng.uniform(box[static_cast<std::size_t>(j)].first,
                                                               box[static_cast<std::size_t>(j)].second);
  return X;
}

// ----------------------------------------------------------------------------------------- jet extraction

// Stream s of a jet as a points x cols double matrix (reads the node, records nothing).
template <class T>
Mat stream_of(const jetpinn::Var<T>& u, int s) {
  return u.value().block_rows(s * u.points(), u.points()).template cast<double>();
}
template <class T>
Mat stream_of(const jetpinn::Var<T>& u, const std::string& name) {
  return stream_of(u, u.streams().index(name));
}
template <class T>
Mat value_of(const jetpinn::Var<T>& u) {
  return u.value().mat().template cast<double>();
}

// "u_xx" style label of stream s.
inline std::string stream_label(const StreamSet& ss, int s) {
  return ss.stream(s).name.empty() ? std::string("u") : "u_" + ss.stream(s).name;
}

// ------------------------------------------------------------------------------------- finite differences

// Values of a pointwise function at points X (rows independent): P x C.
using ValueFn = std::function<Mat(const Mat& X)>;

// Fourth-order central stencil for a first derivative:
//   f'(x) = [f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)] / (12 h) + h^4/30 f^(5)(xi),
// with rounding error about (1+8+8+1)/12 * eps |f| / h = 1.5 eps |f| / h.
inline constexpr int kStencilOffset[4] = {-2, -1, 1, 2};
inline constexpr double kStencilWeight[4] = {1.0 / 12, -8.0 / 12, 8.0 / 12, -1.0 / 12};

// D_m f at X by nesting the first-derivative stencil once per index of the multi-index m (order n = |m|),
// with step h * length[j] along input j (length empty: 1 for every input). Truncation is O(h^4) (n terms of
// h^4/30 times an (n+4)-th derivative); rounding is about 1.5^n eps |f| / h^n. Every point is shifted at once:
// the functions tested act row by row. Evaluations that land on the same shifted point set are shared (4^n
// stencil combinations, far fewer distinct shifts).
inline Mat fd_derivative(const ValueFn& f, const Mat& X, const MultiIndex& m, double h,
                         const std::vector<double>& length = {}) {
  const int n = static_cast<int>(m.size());
  if (n == 0) return f(X);
  auto step = [&](Index j) { return h * (length.empty() ? 1.0 : length[static_cast<std::size_t>(j)]); };
  std::map<std::vector<int>, Mat> cache;
  Mat acc;
  for (int c = 0; c < (1 << (2 * n)); ++c) {
    std::vector<int> shift(static_cast<std::size_t>(X.cols()), 0);
    double w = 1;
    for (int k = 0; k < n; ++k) {
      const int sel = (c >> (2 * k)) & 3;
      shift[static_cast<std::size_t>(m[static_cast<std::size_t>(k)])] += kStencilOffset[sel];
      w *= kStencilWeight[sel];
    }
    auto it = cache.find(shift);
    if (it == cache.end()) {
      Mat Xs = X;
      for (Index j = 0; j < X.cols(); ++j) Xs.col(j).array() += shift[static_cast<std::size_t>(j)] * step(j);
      it = cache.emplace(shift, f(Xs)).first;
    }
    if (acc.size() == 0)
      acc = w * it->second;
    else
      acc += w * it->second;
  }
  double denom = 1;
  for (int k = 0; k < n; ++k) denom *= step(m[static_cast<std::size_t>(k)]);
  return acc / denom;
}

// Sum over a stream's multi-indices (one for a pure stream, several for a collapsed one) of fd_derivative.
inline Mat fd_stream(const ValueFn& f, const Mat& X, const jetpinn::Stream& st, double h,
                     const std::vector<double>& length = {}) {
  Mat acc;
  for (const MultiIndex& m : st.terms) {
    Mat d = fd_derivative(f, X, m, h, length);
    if (acc.size() == 0)
      acc = d;
    else
      acc += d;
  }
  return acc;
}

// Central difference of a scalar function of one parameter, same 4th-order stencil.
inline double fd_scalar(const std::function<double(double)>& f, double x0, double h) {
  double acc = 0;
  for (int k = 0; k < 4; ++k) acc += kStencilWeight[k] * f(x0 + kStencilOffset[k] * h);
  return acc / h;
}

// ------------------------------------------------------------------------------- jets against differences

using Builder = std::function<jetpinn::Var<double>(jetpinn::Tape<double>&, jetpinn::Var<double>)>;

// Runs `build` on an input jet over X with streams ss on a fresh tape; returns every stream.
inline std::vector<Mat> jet_streams(const Builder& build, jetpinn::ParamStore<double>* ps, const Mat& X,
                                    const StreamSetPtr& ss) {
  jetpinn::Tape<double> tape(ps);
  jetpinn::Var<double> u = build(tape, tape.input(X, ss));
  std::vector<Mat> out;
  for (int s = 0; s < u.streams().size(); ++s) out.push_back(stream_of(u, s));
  return out;
}
// The value alone (value-only streams), for finite differences.
inline ValueFn value_fn(const Builder& build, jetpinn::ParamStore<double>* ps) {
  return [build, ps](const Mat& X) { return jet_streams(build, ps, X, StreamSet::value_only())[0]; };
}

// Request string of a pure multi-index, with commas so it parses whatever the input names are.
inline std::string request_of(const StreamSet& ss, const MultiIndex& m) {
  std::string r;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i) r += ",";
    r += ss.inputs()[static_cast<std::size_t>(m[i])];
  }
  return r;
}

// Steps and tolerances of the finite-difference checks of jets (float64).
// Values -> order-n stream by nested 4th-order stencils with step h_n (see fd_derivative):
//   n = 1, h = 1e-3: truncation h^4/30 |f^(5)| ~ 3e-14 |f^(5)|, rounding 1.5 eps |f|/h ~ 3e-13 |f|.
//   n = 2, h = 2e-3: truncation ~ 2 h^4/30 |f^(6)| ~ 1e-12 |f^(6)|, rounding 2.25 eps |f|/h^2 ~ 1.2e-10 |f|.
//   n = 3, h = 5e-3: truncation ~ 3 h^4/30 |f^(7)| ~ 6e-11 |f^(7)|, rounding 3.4 eps |f|/h^3 ~ 6e-9 |f|.
// With the small tanh networks and functions used here (|f^(k)| at most ~1e2-1e3 for k <= 7) the expected
// errors are ~1e-11 (n = 1), ~1e-9 (n = 2) and ~1e-8 (n = 3) of the scale, so the tolerances 1e-8, 1e-6 and
// 1e-5 hold with a margin of 100x or more while still catching any wrong chain-rule term (those are O(1)).
// Scale: max(|stream|, |value|) over the tensor, since the rounding part grows with |f| and the comparison
// must not demand relative accuracy of an entry that crosses zero.
// Chained check: the order-n stream against a first-derivative stencil (h = 1e-3) of the order-(n-1) jet
// stream evaluated at shifted points; same error terms as n = 1 with f replaced by the lower stream, so the
// 1e-8 tolerance of first derivatives applies at every order.
// Length scales: the error terms are (h w_j)^4 relative along input j, with w_j the function's highest
// frequency in that input. Along inputs where it oscillates faster than O(1) per unit (Fourier features
// cos(k pi x / L)), the steps are multiplied by length_j ~ 1 / w_j, which keeps the truncation and rounding
// errors relative to the derivative as above.
struct FdPlan {
  double h[4] = {0, 1e-3, 2e-3, 5e-3};
  double rtol[4] = {0, 1e-8, 1e-6, 1e-5};
  double h_chain = 1e-3, rtol_chain = 1e-8;
  std::vector<double> length;  // per input; empty: 1
  static FdPlan with_lengths(std::vector<double> lengths) {
    FdPlan p;
    p.length = std::move(lengths);
    return p;
  }
};

inline void check_jets_against_fd(const std::string& label, const Builder& build, jetpinn::ParamStore<double>* ps,
                                  const Mat& X, const StreamSetPtr& ss, const FdPlan& plan = {}) {
  const std::vector<Mat> jet = jet_streams(build, ps, X, ss);
  const ValueFn f = value_fn(build, ps);
  const double fscale = max_abs(jet[0]);
  for (int s = 1; s < ss->size(); ++s) {
    const jetpinn::Stream& st = ss->stream(s);
    const int n = st.order();
    const Mat fd = fd_stream(f, X, st, plan.h[n], plan.length);
    compare(label + " " + stream_label(*ss, s) + " vs FD of values", jet[static_cast<std::size_t>(s)], fd,
            scaled(plan.rtol[n], std::max(max_abs(fd), fscale)),
            "FD order " + std::to_string(n) + " from values (h " + fmt(plan.h[n]) + ", rtol " + fmt(plan.rtol[n]) +
                (plan.length.empty() ? ")" : ", scaled steps)"));
    if (n < 2) continue;
    // Chained: D_m u = D_j (D_{m - j} u) with j the last index of each multi-index m.
    Mat chained;
    double lower_scale = 0;
    for (const MultiIndex& m : st.terms) {
      MultiIndex lower(m.begin(), m.end() - 1);
      const int ls = ss->index(request_of(*ss, lower));
      lower_scale = std::max(lower_scale, max_abs(jet[static_cast<std::size_t>(ls)]));
      const ValueFn g = [&](const Mat& Xs) { return jet_streams(build, ps, Xs, ss)[static_cast<std::size_t>(ls)]; };
      Mat d = fd_derivative(g, X, {m.back()}, plan.h_chain, plan.length);
      if (chained.size() == 0)
        chained = d;
      else
        chained += d;
    }
    compare(label + " " + stream_label(*ss, s) + " vs FD of lower stream", jet[static_cast<std::size_t>(s)], chained,
            scaled(plan.rtol_chain, std::max(max_abs(chained), lower_scale)),
            "FD of lower-order jet stream (h " + fmt(plan.h_chain) + ", rtol " + fmt(plan.rtol_chain) +
                (plan.length.empty() ? ")" : ", scaled steps)"));
  }
}

}  // namespace jt
