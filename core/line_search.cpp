// Strong-Wolfe line search (see line_search.h). Moved out of lbfgs.cpp unchanged in arithmetic: the same
// VectorOps calls in the same order, so L-BFGS runs keep their bits.
#include "line_search.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace jetpinn {

namespace {

// Minimiser of the cubic through (x1, f1, f1') and (x2, f2, f2'), clamped to [lo, hi] (PyTorch's
// _cubic_interpolate). Falls back to the midpoint when the cubic has no minimiser or the data are not finite
// (a trial that overflowed), which turns the zoom into bisection.
double cubic_min(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi) {
  const double mid = 0.5 * (lo + hi);
  if (!(std::isfinite(f1) && std::isfinite(g1) && std::isfinite(f2) && std::isfinite(g2)) || x1 == x2) return mid;
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (!(d2_square >= 0)) return mid;
  const double d2 = std::sqrt(d2_square);
  const double pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                              : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  if (!std::isfinite(pos)) return mid;
  return std::min(std::max(pos, lo), hi);
}

}  // namespace

template <class T>
StrongWolfeSearch<T>::StrongWolfeSearch(VectorOps<T>& ops, Index n) : m_ops(&ops), m_n(n) {
  m_x0 = VectorBuffer<T>(ops, n);
  m_d = VectorBuffer<T>(ops, n);
  m_gt = VectorBuffer<T>(ops, n);
  m_gb[0] = VectorBuffer<T>(ops, n);
  m_gb[1] = VectorBuffer<T>(ops, n);
}

// Both ops have one compiled body (out of line, behind the interface), so a rebuilt point has the bits it was
// evaluated at.
template <class T>
void StrongWolfeSearch<T>::set_point(T* x, double t) {
  m_ops->copy(m_n, m_x0.data(), x);
  m_ops->axpy(m_n, t, m_d.data(), x);
}

template <class T>
double StrongWolfeSearch<T>::evaluate(const Objective& fn, T* x, double t, int& evals) {
  set_point(x, t);
  const double f = fn(x, m_gt.data());
  ++evals;
  return f;
}

template <class T>
typename StrongWolfeSearch<T>::Trial StrongWolfeSearch<T>::search(const Objective& fn, T* x, double t, double f0,
                                                                  double gtd0, const T* g0,
                                                                  const LineSearchSettings& c, int& evals,
                                                                  bool& wolfe) {
  const int max_evals = c.max_evals;
  wolfe = false;
  int ls = 0;  // evaluations in this search
  auto trial = [&](double step) {
    Trial r;
    r.t = step;
    r.f = evaluate(fn, x, step, evals);
    r.gtd = m_ops->dot(m_n, m_gt.data(), m_d.data());
    ++ls;
    return r;
  };
  // A trial that overflowed counts as "too far": it bounds the bracket and is never accepted.
  auto finite = [](const Trial& r) { return std::isfinite(r.f) && std::isfinite(r.gtd); };
  auto armijo = [&](const Trial& r) { return r.f <= f0 + c.c1 * r.t * gtd0; };
  auto curvature = [&](const Trial& r) { return std::abs(r.gtd) <= -c.c2 * gtd0; };

  // Bracketing (Alg. 3.5). prev's gradient lives in m_gb[0]; the newest trial's in m_gt.
  Trial prev{0.0, f0, gtd0};
  m_ops->copy(m_n, g0, m_gb[0].data());
  Trial cur = trial(t);
  Trial b[2];
  int lo = 0;
  while (true) {
    if (!finite(cur) || !armijo(cur) || (ls > 1 && cur.f >= prev.f)) {
      b[0] = prev;  // the minimiser lies between prev (lo) and cur
      b[1] = cur;
      std::swap(m_gb[1], m_gt);
      lo = 0;
      break;
    }
    if (curvature(cur)) {
      wolfe = true;
      std::swap(m_gb[0], m_gt);
      return cur;
    }
    if (cur.gtd >= 0) {  // past a minimiser with a lower f than prev: cur is lo
      b[0] = prev;
      b[1] = cur;
      std::swap(m_gb[1], m_gt);
      lo = 1;
      break;
    }
    if (ls >= max_evals) {  // out of evaluations while still descending: cur is the best point seen
      std::swap(m_gb[0], m_gt);
      return cur;
    }
    // Extrapolate: at least a little beyond cur, at most 10x.
    const double next = cubic_min(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd, cur.t + 0.01 * (cur.t - prev.t),
                                  cur.t * 10);
    prev = cur;
    std::swap(m_gb[0], m_gt);
    cur = trial(next);
  }

  // Zoom (Alg. 3.6) with cubic interpolation and PyTorch's guard against steps hugging a bracket end.
  // Invariants: b[lo] satisfies Armijo (or is t = 0) with the lowest f of such trials; gtd(lo) (b[hi].t - b[lo].t) < 0.
  const double d_norm = m_ops->max_abs(m_n, m_d.data());
  bool insufficient = false;
  while (ls < max_evals) {
    const int hi = 1 - lo;
    const double bmin = std::min(b[0].t, b[1].t), bmax = std::max(b[0].t, b[1].t);
    if ((bmax - bmin) * d_norm < c.tolerance_change) break;
    double step = cubic_min(b[0].t, b[0].f, b[0].gtd, b[1].t, b[1].f, b[1].gtd, bmin, bmax);
    const double margin = 0.1 * (bmax - bmin);
    if (std::min(bmax - step, step - bmin) < margin) {
      // Too close to an end: allowed once while inside, then pushed 10% in (an end itself is never retried).
      if (insufficient || step >= bmax || step <= bmin) {
        step = std::abs(step - bmax) < std::abs(step - bmin) ? bmax - margin : bmin + margin;
        insufficient = false;
      } else {
        insufficient = true;
      }
    } else {
      insufficient = false;
    }
    cur = trial(step);
    if (!finite(cur) || !armijo(cur) || cur.f >= b[lo].f) {
      b[hi] = cur;
      std::swap(m_gb[hi], m_gt);
    } else {
      const bool done = curvature(cur);
      if (!done && cur.gtd * (b[hi].t - b[lo].t) >= 0) {
        b[hi] = b[lo];
        std::swap(m_gb[hi], m_gb[lo]);
      }
      b[lo] = cur;
      std::swap(m_gb[lo], m_gt);
      if (done) {
        wolfe = true;
        break;
      }
    }
  }
  if (lo == 1) std::swap(m_gb[0], m_gb[1]);
  return b[lo];
}

template class StrongWolfeSearch<float>;
template class StrongWolfeSearch<double>;

}  // namespace jetpinn
