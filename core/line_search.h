// StrongWolfeSearch<T>: the line search shared by Lbfgs<T> (lbfgs.h) and DenseQuasiNewton (dense_qn.h).
// Along a direction d from a start point x0: bracketing, then zoom with cubic interpolation (Nocedal & Wright
// Alg. 3.5/3.6, the scheme of PyTorch's _strong_wolfe). It owns the vectors a search needs (x0, d, the trial and
// bracket gradients) in a VectorOps<T>'s memory; the caller fills start() and direction() before search().
#pragma once
#include <functional>

#include "lbfgs_vectors.h"
#include "tensor.h"

namespace jetpinn {

struct LineSearchSettings {
  double c1 = 1e-4;                // sufficient decrease (Armijo)
  double c2 = 0.9;                 // curvature: |g_new'd| <= c2 |g'd|
  double tolerance_change = 1e-14; // the zoom stops when the bracket, times max |d|, is shorter than this
  int max_evals = 25;              // objective evaluations per search, all trials included
};

template <class T>
class StrongWolfeSearch {
 public:
  using Objective = std::function<double(const T* x, T* grad)>;
  struct Trial {  // one evaluated point
    double t = 0, f = 0, gtd = 0;
  };

  StrongWolfeSearch() = default;
  // ops must outlive this object; n entries per vector.
  StrongWolfeSearch(VectorOps<T>& ops, Index n);

  T* start() { return m_x0.data(); }  // x0
  const T* start() const { return m_x0.data(); }
  T* direction() { return m_d.data(); }  // d
  const T* direction() const { return m_d.data(); }
  // After search(): the accepted trial's gradient. A caller that keeps it may swap it out (same ops, size n).
  VectorBuffer<T>& accepted_gradient() { return m_gb[0]; }

  // x = x0 + t d, as x = x0; x += t d (the accepted point rebuilt has the bits it was evaluated at).
  void set_point(T* x, double t);

  // Searches from x0 (f0, gradient g0, slope gtd0 = g0'd < 0) starting with step t; every trial is evaluated in
  // x (the caller's buffer), which afterwards holds the last trial, not necessarily the accepted one. Returns the
  // accepted trial (t = 0: none satisfied sufficient decrease) and sets wolfe when it satisfies strong Wolfe.
  // evals counts the evaluations.
  Trial search(const Objective& fn, T* x, double t, double f0, double gtd0, const T* g0,
               const LineSearchSettings& settings, int& evals, bool& wolfe);

 private:
  VectorOps<T>* m_ops = nullptr;
  Index m_n = 0;
  VectorBuffer<T> m_x0, m_d, m_gt, m_gb[2];  // start point, direction, trial gradient, bracket gradients

  double evaluate(const Objective& fn, T* x, double t, int& evals);  // x = x0 + t d; f; gradient into m_gt
};

}  // namespace jetpinn
