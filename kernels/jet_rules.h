// Jet chain rules in a flat, fixed-size form that a kernel takes by value (a __grid_constant__ parameter,
// read from the constant bank), and the per-element rules the CUDA kernels inline, written once for host and
// device (JETPINN_HD) so the host test suite checks their arithmetic against core/jet_kernels_cpu.cpp.
// A jet element has S streams; stream s of the element lives at x[s * stride] (stride = elements per stream).
// Pure C++ header: no CUDA types; compiled by g++ (C++20, host tests) and by nvcc (C++17, kernels).
#pragma once
#include <cstddef>

#include "activations.h"
#include "check.h"
#include "streams.h"

namespace jetpinn::cuda {

constexpr int MAX_STREAMS = 24;      // the full third-order set over three inputs has 20
constexpr int MAX_RULE_TERMS = 192;  // that set's product (Leibniz) program has 83 terms, its unary one 53

// One term: coef * f^(k)(x_0) * x_f0 * x_f1 * x_f2 (unary, nf factors), or coef * u_f0 * v_f1 (product).
struct FlatTerm {
  double coef;
  signed char k, nf, f0, f1, f2;
};

// Terms of output stream s are term[begin[s] .. begin[s+1]); stream 0 (the value) has none.
struct FlatRules {
  int streams = 1;
  int kmax = 0;  // highest f^(k) the forward program needs (0 for a value-only set)
  short begin[MAX_STREAMS + 1] = {};
  FlatTerm term[MAX_RULE_TERMS] = {};
};
// A kernel's whole parameter list may take 32,764 bytes on sm_70+ with CUDA 12.1+ (4,096 bytes before; the
// emulated device checks the 32,764 at every launch). FlatRules is 3,136 bytes; fused_mlp_backward_stats passes it
// with a ChunkTable (2,064 bytes) and its other arguments, 5,320 bytes in all, so that kernel needs the raised
// limit. The assert keeps FlatRules alone under 4,000 bytes.
static_assert(sizeof(FlatRules) <= 4000, "FlatRules is passed by value in kernel parameters; keep it small");

namespace detail {
inline FlatRules flatten(const StreamSet& set, const RuleProgram& prog, const char* what) {
  FlatRules r;
  JETPINN_CHECK(set.size() <= MAX_STREAMS, "the CUDA jet kernels take at most " << MAX_STREAMS << " streams, this set has "
                                                                               << set.size() << " ("
                                                                               << set.describe() << ")");
  r.streams = set.size();
  r.kmax = set.size() > 1 ? set.max_unary_k() : 0;
  int n = 0;
  for (int s = 0; s < set.size(); ++s) {
    r.begin[s] = static_cast<short>(n);
    if (s == 0) continue;
    for (const RuleTerm& t : prog[static_cast<std::size_t>(s)]) {
      JETPINN_CHECK(n < MAX_RULE_TERMS, what << " program of [" << set.describe() << "] has more than "
                                             << MAX_RULE_TERMS << " terms; raise MAX_RULE_TERMS in kernels/jet_rules.h");
      r.term[n++] = FlatTerm{t.coef, static_cast<signed char>(t.k), static_cast<signed char>(t.nf),
                             static_cast<signed char>(t.factor[0]), static_cast<signed char>(t.factor[1]),
                             static_cast<signed char>(t.factor[2])};
    }
  }
  r.begin[set.size()] = static_cast<short>(n);
  return r;
}
}  // namespace detail

// Faa di Bruno program of y = f(x) / Leibniz program of y = u * v for this stream set.
inline FlatRules flatten_unary(const StreamSet& set) { return detail::flatten(set, set.unary_program(), "unary"); }
inline FlatRules flatten_product(const StreamSet& set) { return detail::flatten(set, set.product_program(), "product"); }

// d[0..n] = f^(i)(x); tanh from its value y when the caller has it (backward), like the CPU kernels.
template <class T>
JETPINN_HD inline void jet_derivs(Activation a, int power, T x, const T* y_value, T* d, int n) {
  if (a == Activation::Tanh && y_value) {  // t = tanh x, s = 1 - t^2: f' = s, f'' = -2ts, f''' = s(6t^2 - 2), ...
    const T t = *y_value, s = T(1) - t * t;
    d[0] = t;
    if (n >= 1) d[1] = s;
    if (n >= 2) d[2] = T(-2) * t * s;
    if (n >= 3) d[3] = s * (T(6) * t * t - T(2));
    if (n >= 4) d[4] = T(8) * t * s * (T(2) - T(3) * t * t);
    return;
  }
  activation_derivs<T>(a, x, power, d, n);
}

// Forward of one element: reads all S streams of x before writing y, so x == y (in place) is allowed.
// y_s = sum over the terms of stream s of coef * f^(k)(x_0) * x_f0 * ... (y_0 = f(x_0)).
template <class T>
JETPINN_HD inline void unary_jet_element_forward(const FlatRules& r, Activation a, int power, const T* x,
                                                 std::ptrdiff_t stride, T* y) {
  T xs[MAX_STREAMS], d[5];
  const int S = r.streams;
  for (int s = 0; s < S; ++s) xs[s] = x[s * stride];
  jet_derivs<T>(a, power, xs[0], nullptr, d, r.kmax);
  y[0] = d[0];
  for (int s = 1; s < S; ++s) {
    T acc = T(0);
    for (int i = r.begin[s]; i < r.begin[s + 1]; ++i) {
      const FlatTerm& t = r.term[i];
      T p = T(t.coef) * d[t.k] * xs[t.f0];
      if (t.nf >= 2) p *= xs[t.f1];
      if (t.nf >= 3) p *= xs[t.f2];
      acc += p;
    }
    y[s * stride] = acc;
  }
}

// Backward of one element: dx_s += d(sum_s' dy_s' . y_s') / d x_s for every stream (accumulates).
// y: the forward output of this element (tanh reads its value stream), may be null.
// d/dx_0 of coef f^(k) prod x_f is coef f^(k+1) prod x_f; d/dx_fj is coef f^(k) prod_{i != j} x_fi.
template <class T>
JETPINN_HD inline void unary_jet_element_backward(const FlatRules& r, Activation a, int power, const T* x, const T* y,
                                                  const T* dy, std::ptrdiff_t stride, T* dx) {
  T xs[MAX_STREAMS], g[MAX_STREAMS], d[5];
  const int S = r.streams;
  for (int s = 0; s < S; ++s) {
    xs[s] = x[s * stride];
    g[s] = T(0);
  }
  jet_derivs<T>(a, power, xs[0], y, d, S > 1 ? r.kmax + 1 : 1);
  g[0] = dy[0] * d[1];
  for (int s = 1; s < S; ++s) {
    const T gs = dy[s * stride];
    for (int i = r.begin[s]; i < r.begin[s + 1]; ++i) {
      const FlatTerm& t = r.term[i];
      const T c = T(t.coef);
      const T a0 = xs[t.f0], a1 = t.nf >= 2 ? xs[t.f1] : T(1), a2 = t.nf >= 3 ? xs[t.f2] : T(1);
      g[0] += c * gs * d[t.k + 1] * a0 * a1 * a2;
      const T gk = c * gs * d[t.k];
      g[t.f0] += gk * a1 * a2;
      if (t.nf >= 2) g[t.f1] += gk * a0 * a2;
      if (t.nf >= 3) g[t.f2] += gk * a0 * a1;
    }
  }
  for (int s = 0; s < S; ++s) dx[s * stride] += g[s];
}

// y = u * v on one element: y_0 = u_0 v_0, y_s = sum coef * u_f0 * v_f1 (Leibniz).
template <class T>
JETPINN_HD inline void product_jet_element_forward(const FlatRules& r, const T* u, const T* v, std::ptrdiff_t stride,
                                                   T* y) {
  T us[MAX_STREAMS], vs[MAX_STREAMS];
  const int S = r.streams;
  for (int s = 0; s < S; ++s) {
    us[s] = u[s * stride];
    vs[s] = v[s * stride];
  }
  y[0] = us[0] * vs[0];
  for (int s = 1; s < S; ++s) {
    T acc = T(0);
    for (int i = r.begin[s]; i < r.begin[s + 1]; ++i) acc += T(r.term[i].coef) * us[r.term[i].f0] * vs[r.term[i].f1];
    y[s * stride] = acc;
  }
}

// Backward of the product on one element; du or dv null skips that input (accumulates otherwise).
template <class T>
JETPINN_HD inline void product_jet_element_backward(const FlatRules& r, const T* u, const T* v, const T* dy,
                                                    std::ptrdiff_t stride, T* du, T* dv) {
  T us[MAX_STREAMS], vs[MAX_STREAMS], gu[MAX_STREAMS], gv[MAX_STREAMS];
  const int S = r.streams;
  for (int s = 0; s < S; ++s) {
    us[s] = u[s * stride];
    vs[s] = v[s * stride];
    gu[s] = gv[s] = T(0);
  }
  const T g0 = dy[0];
  gu[0] = g0 * vs[0];
  gv[0] = g0 * us[0];
  for (int s = 1; s < S; ++s) {
    const T gs = dy[s * stride];
    for (int i = r.begin[s]; i < r.begin[s + 1]; ++i) {
      const FlatTerm& t = r.term[i];
      const T cg = T(t.coef) * gs;
      gu[t.f0] += cg * vs[t.f1];
      gv[t.f1] += cg * us[t.f0];
    }
  }
  for (int s = 0; s < S; ++s) {
    if (du) du[s * stride] += gu[s];
    if (dv) dv[s * stride] += gv[s];
  }
}

}  // namespace jetpinn::cuda
