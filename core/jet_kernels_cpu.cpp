// CPU jet kernels: chunks of CHUNK values per stream, OpenMP over chunks, simd loops over a chunk.
// Per chunk the activation's derivatives d[0..k] are computed once for the value stream, then each output
// stream sums its program's terms: coef * d[k] * x_a * x_b * x_c.
#include "jet_kernels_cpu.h"

#include <algorithm>

#include "simd_math.h"

namespace jetpinn {

namespace {

constexpr Index CHUNK = 256;
// Below this many chunks a parallel region costs more than it saves (and stalls when the cores are busy).
constexpr Index MIN_PARALLEL_CHUNKS = 32;

// d[i][0..len) = f^(i)(x) for i <= n. tanh (the hot activation) is vectorised, and when the forward output y
// is at hand (backward) its derivatives come from y = tanh x without evaluating tanh again.
template <class T>
void derivs_chunk(Activation a, int power, const T* x, const T* y, Index len, int n, T (*d)[CHUNK]) {
  if (a == Activation::Tanh) {
    if (y) {
      std::copy(y, y + len, d[0]);
    } else if constexpr (std::is_same_v<T, float>) {
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(d[0], len) = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, len).tanh();
    } else {
#pragma omp simd
      for (Index e = 0; e < len; ++e) d[0][e] = tanh_simd(x[e]);
    }
#pragma omp simd
    for (Index e = 0; e < len; ++e) {
      T tv = d[0][e], s = T(1) - tv * tv;
      if (n >= 1) d[1][e] = s;
      if (n >= 2) d[2][e] = T(-2) * tv * s;
      if (n >= 3) d[3][e] = s * (T(6) * tv * tv - T(2));
      if (n >= 4) d[4][e] = T(8) * tv * s * (T(2) - T(3) * tv * tv);
    }
    return;
  }
  for (Index e = 0; e < len; ++e) {
    T tmp[5];
    activation_derivs<T>(a, x[e], power, tmp, n);
    for (int i = 0; i <= n; ++i) d[i][e] = tmp[i];
  }
}

// out[e] += c * a[e] * (f0[e] * f1[e] * ...) for the nf factor pointers given.
template <class T>
inline void axpy_prod(T* out, T c, const T* a, const T* const* f, int nf, Index len) {
  switch (nf) {
    case 0:
#pragma omp simd
      for (Index e = 0; e < len; ++e) out[e] += c * a[e];
      break;
    case 1:
#pragma omp simd
      for (Index e = 0; e < len; ++e) out[e] += c * a[e] * f[0][e];
      break;
    case 2:
#pragma omp simd
      for (Index e = 0; e < len; ++e) out[e] += c * a[e] * f[0][e] * f[1][e];
      break;
    default:
#pragma omp simd
      for (Index e = 0; e < len; ++e) out[e] += c * a[e] * f[0][e] * f[1][e] * f[2][e];
      break;
  }
}

inline Index num_chunks(Index n) { return (n + CHUNK - 1) / CHUNK; }

}  // namespace

template <class T>
void unary_jet_forward_cpu(Activation a, int power, const StreamSet& streams, Index n, const T* x, T* y) {
  const int S = streams.size();
  const int kmax = S > 1 ? streams.max_unary_k() : 0;
  const RuleProgram& prog = streams.unary_program();
#pragma omp parallel for schedule(static) if (num_chunks(n) >= MIN_PARALLEL_CHUNKS)
  for (Index c = 0; c < num_chunks(n); ++c) {
    const Index e0 = c * CHUNK, len = std::min(CHUNK, n - e0);
    alignas(64) T d[5][CHUNK];
    derivs_chunk<T>(a, power, x + e0, nullptr, len, kmax, d);
    std::copy(d[0], d[0] + len, y + e0);
    for (int s = 1; s < S; ++s) {
      T* ys = y + s * n + e0;
      std::fill(ys, ys + len, T(0));
      for (const RuleTerm& t : prog[static_cast<std::size_t>(s)]) {
        const T* f[3];
        for (int i = 0; i < t.nf; ++i) f[i] = x + t.factor[i] * n + e0;
        axpy_prod(ys, T(t.coef), d[t.k], f, t.nf, len);
      }
    }
  }
}

template <class T>
void unary_jet_backward_cpu(Activation a, int power, const StreamSet& streams, Index n, const T* x, const T* y,
                            const T* dy, T* dx) {
  const int S = streams.size();
  const int kmax = S > 1 ? streams.max_unary_k() + 1 : 1;
  const RuleProgram& prog = streams.unary_program();
#pragma omp parallel for schedule(static) if (num_chunks(n) >= MIN_PARALLEL_CHUNKS)
  for (Index c = 0; c < num_chunks(n); ++c) {
    const Index e0 = c * CHUNK, len = std::min(CHUNK, n - e0);
    alignas(64) T d[5][CHUNK];
    alignas(64) T gd[CHUNK];
    derivs_chunk<T>(a, power, x + e0, y ? y + e0 : nullptr, len, kmax, d);
    {  // value stream: dx_0 += dy_0 f'
      const T* g = dy + e0;
      T* o = dx + e0;
#pragma omp simd
      for (Index e = 0; e < len; ++e) o[e] += g[e] * d[1][e];
    }
    for (int s = 1; s < S; ++s) {
      const T* g = dy + s * n + e0;
      for (const RuleTerm& t : prog[static_cast<std::size_t>(s)]) {
        const T* f[3];
        for (int i = 0; i < t.nf; ++i) f[i] = x + t.factor[i] * n + e0;
        // d/dx_0 of coef f^(k)(x_0) prod x_f: coef f^(k+1) prod x_f
#pragma omp simd
        for (Index e = 0; e < len; ++e) gd[e] = g[e] * d[t.k + 1][e];
        axpy_prod(dx + e0, T(t.coef), gd, f, t.nf, len);
        // d/dx_{f_j}: coef f^(k) prod_{i != j} x_{f_i}
#pragma omp simd
        for (Index e = 0; e < len; ++e) gd[e] = g[e] * d[t.k][e];
        for (int j = 0; j < t.nf; ++j) {
          const T* others[3];
          int m = 0;
          for (int i = 0; i < t.nf; ++i)
            if (i != j) others[m++] = f[i];
          axpy_prod(dx + t.factor[j] * n + e0, T(t.coef), gd, others, m, len);
        }
      }
    }
  }
}

template <class T>
void product_jet_forward_cpu(const StreamSet& streams, Index n, const T* u, const T* v, T* y) {
  const int S = streams.size();
  const RuleProgram& prog = streams.product_program();
#pragma omp parallel for schedule(static) if (num_chunks(n) >= MIN_PARALLEL_CHUNKS)
  for (Index c = 0; c < num_chunks(n); ++c) {
    const Index e0 = c * CHUNK, len = std::min(CHUNK, n - e0);
    {
      const T *a = u + e0, *b = v + e0;
      T* o = y + e0;
#pragma omp simd
      for (Index e = 0; e < len; ++e) o[e] = a[e] * b[e];
    }
    for (int s = 1; s < S; ++s) {
      T* ys = y + s * n + e0;
      std::fill(ys, ys + len, T(0));
      for (const RuleTerm& t : prog[static_cast<std::size_t>(s)]) {
        const T* f[1] = {v + t.factor[1] * n + e0};
        axpy_prod(ys, T(t.coef), u + t.factor[0] * n + e0, f, 1, len);
      }
    }
  }
}

template <class T>
void product_jet_backward_cpu(const StreamSet& streams, Index n, const T* u, const T* v, const T* dy, T* du, T* dv) {
  const int S = streams.size();
  const RuleProgram& prog = streams.product_program();
#pragma omp parallel for schedule(static) if (num_chunks(n) >= MIN_PARALLEL_CHUNKS)
  for (Index c = 0; c < num_chunks(n); ++c) {
    const Index e0 = c * CHUNK, len = std::min(CHUNK, n - e0);
    for (int s = 0; s < S; ++s) {
      const T* g = dy + s * n + e0;
      static const RuleTerm value_term{1, 0, 2, {0, 0, 0}};
      const RuleTerm* terms = s == 0 ? &value_term : prog[static_cast<std::size_t>(s)].data();
      const std::size_t nt = s == 0 ? 1 : prog[static_cast<std::size_t>(s)].size();
      for (std::size_t i = 0; i < nt; ++i) {
        const RuleTerm& t = terms[i];
        if (du) {
          const T* f[1] = {v + t.factor[1] * n + e0};
          axpy_prod(du + t.factor[0] * n + e0, T(t.coef), g, f, 1, len);
        }
        if (dv) {
          const T* f[1] = {u + t.factor[0] * n + e0};
          axpy_prod(dv + t.factor[1] * n + e0, T(t.coef), g, f, 1, len);
        }
      }
    }
  }
}

#define JETPINN_INSTANTIATE(T)                                                                                    \
  template void unary_jet_forward_cpu<T>(Activation, int, const StreamSet&, Index, const T*, T*);                 \
  template void unary_jet_backward_cpu<T>(Activation, int, const StreamSet&, Index, const T*, const T*, const T*, T*);      \
  template void product_jet_forward_cpu<T>(const StreamSet&, Index, const T*, const T*, T*);                      \
  template void product_jet_backward_cpu<T>(const StreamSet&, Index, const T*, const T*, const T*, T*, T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn
