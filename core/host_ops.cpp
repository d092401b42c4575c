// HostOps (see host_ops.h). Each primitive's body is a lambda taking its arguments by value, run now or recorded.
#include "host_ops.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "grad_stats.h"
#include "jet_kernels_cpu.h"
#include "tensor.h"

namespace jetpinn {

namespace {
template <class T>
using CMap = Eigen::Map<const RowMat<T>>;
template <class T>
using Map = Eigen::Map<RowMat<T>>;
}  // namespace

template <class T>
void* HostOps<T>::allocate(std::size_t bytes) {
  JETPINN_CHECK(!m_capturing, "host ops: allocation while capturing a graph (the pool must be warm)");
  void* p = std::aligned_alloc(64, (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  return p;
}
template <class T>
void HostOps<T>::release(void* p) {
  std::free(p);
}
template <class T>
void HostOps<T>::upload(void* dst, const void* host, std::size_t bytes) {
  JETPINN_CHECK(!m_capturing, "host ops: upload while capturing a graph");
  std::memcpy(dst, host, bytes);
}
template <class T>
void HostOps<T>::download(void* host, const void* src, std::size_t bytes) {
  JETPINN_CHECK(!m_capturing, "host ops: download while capturing a graph");
  std::memcpy(host, src, bytes);
}
template <class T>
void HostOps<T>::copy(void* dst, const void* src, std::size_t bytes) {
  run([=] { std::memmove(dst, src, bytes); });
}

template <class T>
void HostOps<T>::fill(Idx n, T value, T* y) {
  run([=] { std::fill(y, y + n, value); });
}
template <class T>
void HostOps<T>::axpy(Idx n, T alpha, const T* x, T* y) {
  run([=] { for (Idx i = 0; i < n; ++i) y[i] += alpha * x[i]; });
}
template <class T>
void HostOps<T>::scale(Idx n, T alpha, const T* x, T* y) {
  run([=] { for (Idx i = 0; i < n; ++i) y[i] = alpha * x[i]; });
}
template <class T>
void HostOps<T>::add(Idx n, const T* a, const T* b, T* y) {
  run([=] { for (Idx i = 0; i < n; ++i) y[i] = a[i] + b[i]; });
}
template <class T>
void HostOps<T>::sub(Idx n, const T* a, const T* b, T* y) {
  run([=] { for (Idx i = 0; i < n; ++i) y[i] = a[i] - b[i]; });
}
template <class T>
void HostOps<T>::add_constant(Idx n, T c, T* y) {
  run([=] { for (Idx i = 0; i < n; ++i) y[i] += c; });
}
template <class T>
void HostOps<T>::add_broadcast(Idx n, const T* s, double factor, T* y) {
  run([=] {
    const T v = static_cast<T>(factor * static_cast<double>(s[0]));
    for (Idx i = 0; i < n; ++i) y[i] += v;
  });
}
template <class T>
void HostOps<T>::sum(Idx n, const T* x, double factor, T* out) {
  run([=] {
    double acc = 0;
    for (Idx i = 0; i < n; ++i) acc += static_cast<double>(x[i]);
    out[0] = static_cast<T>(factor * acc);
  });
}
template <class T>
void HostOps<T>::copy_cols(Idx rows, Idx cols, const T* src, Idx src_ld, T* dst, Idx dst_ld, bool accumulate) {
  run([=] {
    for (Idx r = 0; r < rows; ++r) {
      const T* s = src + r * src_ld;
      T* d = dst + r * dst_ld;
      if (accumulate)
        for (Idx c = 0; c < cols; ++c) d[c] += s[c];
      else
        std::copy(s, s + cols, d);
    }
  });
}
template <class T>
void HostOps<T>::add_row_vector(Idx rows, Idx cols, const T* b, T* y) {
  run([=] {
    for (Idx r = 0; r < rows; ++r)
      for (Idx c = 0; c < cols; ++c) y[r * cols + c] += b[c];
  });
}
template <class T>
void HostOps<T>::accumulate_double(Idx n, const T* x, double* y) {
  run([=] { for (Idx i = 0; i < n; ++i) y[i] += static_cast<double>(x[i]); });
}

template <class T>
void HostOps<T>::affine_forward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* b, T* y) {
  run([=] {
    Map<T> Y(y, rows, out);
    Y.noalias() = CMap<T>(x, rows, in) * CMap<T>(W, out, in).transpose();
    if (b) Y.topRows(points).rowwise() += CMap<T>(b, 1, out).row(0);
  });
}
template <class T>
void HostOps<T>::affine_backward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* dy, T* dW,
                                 T* db, T* dx) {
  run([=] {
    CMap<T> DY(dy, rows, out);
    if (dW) Map<T>(dW, out, in).noalias() += DY.transpose() * CMap<T>(x, rows, in);
    if (db) Map<T>(db, 1, out).row(0) += DY.topRows(points).colwise().sum();
    if (dx) Map<T>(dx, rows, in).noalias() += DY * CMap<T>(W, out, in);
  });
}

template <class T>
void HostOps<T>::unary_forward(const StreamSet& s, Activation a, int power, Idx n, const T* x, T* y) {
  const StreamSet* sp = &s;  // stream sets outlive the graph (the tape's nodes hold them)
  run([=] { unary_jet_forward_cpu<T>(a, power, *sp, n, x, y); });
}
template <class T>
void HostOps<T>::unary_backward(const StreamSet& s, Activation a, int power, Idx n, const T* x, const T* y,
                                const T* dy, T* dx) {
  const StreamSet* sp = &s;
  run([=] { unary_jet_backward_cpu<T>(a, power, *sp, n, x, y, dy, dx); });
}
template <class T>
void HostOps<T>::product_forward(const StreamSet& s, Idx n, const T* u, const T* v, T* y) {
  const StreamSet* sp = &s;
  run([=] { product_jet_forward_cpu<T>(*sp, n, u, v, y); });
}
template <class T>
void HostOps<T>::product_backward(const StreamSet& s, Idx n, const T* u, const T* v, const T* dy, T* du, T* dv) {
  const StreamSet* sp = &s;
  run([=] { product_jet_backward_cpu<T>(*sp, n, u, v, dy, du, dv); });
}

// The per-op path's arithmetic layer by layer (affine, then the jet rule), so a stack gives the same bits.
template <class T>
void HostOps<T>::dense_stack_forward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x, T* y,
                                     T* z, T* h) {
  const StreamSet* sp = &s;
  run([=] {
    const Idx rows = sp->size() * P, blk = rows * d.width;
    const T* p = params;
    const T* in = x;
    for (int l = 0; l <= d.depth; ++l) {
      const Idx ni = l == 0 ? d.inputs : d.width, no = l == d.depth ? d.outputs : d.width;
      T* out = l == d.depth ? y : z + l * blk;
      Map<T> Y(out, rows, no);
      Y.noalias() = CMap<T>(in, rows, ni) * CMap<T>(p, no, ni).transpose();
      Y.topRows(P).rowwise() += CMap<T>(p + no * ni, 1, no).row(0);
      p += no * ni + no;
      if (l == d.depth) break;
      unary_jet_forward_cpu<T>(d.act, d.power, *sp, P * d.width, out, h + l * blk);
      in = h + l * blk;
    }
  });
}

template <class T>
void HostOps<T>::dense_stack_backward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x,
                                      const T* dy, const T* z, const T* h, T* dz, T* dparams, T* dx) {
  const StreamSet* sp = &s;
  run([=] {
    const Idx rows = sp->size() * P, blk = rows * d.width;
    std::vector<Idx> off(static_cast<std::size_t>(d.depth) + 2, 0);  // weight offset of each layer
    for (int l = 0; l <= d.depth; ++l) {
      const Idx ni = l == 0 ? d.inputs : d.width, no = l == d.depth ? d.outputs : d.width;
      off[static_cast<std::size_t>(l) + 1] = off[static_cast<std::size_t>(l)] + no * ni + no;
    }
    RowMat<T> dh(rows, d.width);
    const T* adj = dy;  // this layer's output adjoint
    for (int l = d.depth; l >= 0; --l) {
      const Idx ni = l == 0 ? d.inputs : d.width, no = l == d.depth ? d.outputs : d.width;
      const T* W = params + off[static_cast<std::size_t>(l)];
      T* dW = dparams + off[static_cast<std::size_t>(l)];
      const T* in = l == 0 ? x : h + (l - 1) * blk;
      CMap<T> A(adj, rows, no);
      Map<T>(dW, no, ni).noalias() += A.transpose() * CMap<T>(in, rows, ni);
      Map<T>(dW + no * ni, 1, no).row(0) += A.topRows(P).colwise().sum();
      if (l == 0) {
        if (dx) Map<T>(dx, rows, ni).noalias() += A * CMap<T>(W, no, ni);
        break;
      }
      dh.noalias() = A * CMap<T>(W, no, ni);
      T* dzl = dz + (l - 1) * blk;
      std::fill(dzl, dzl + blk, T(0));
      unary_jet_backward_cpu<T>(d.act, d.power, *sp, P * d.width, z + (l - 1) * blk, h + (l - 1) * blk, dh.data(), dzl);
      adj = dzl;
    }
  });
}

// The sweep of dense_stack_backward with each layer's statistics from affine_batch_stats / bias_batch_stats
// (measurement steps are never captured, so the nested primitives run at once).
template <class T>
void HostOps<T>::dense_stack_backward_stats(const DenseStack& d, const StreamSet& s, Idx P, const T* params,
                                            const T* x, const T* dy, const T* z, const T* h, T* dz,
                                            const std::vector<Idx>& offsets, T* dparams, double* s1, double* s2,
                                            double* r, double* sample_sq, T* dx) {
  JETPINN_CHECK(!m_capturing, "host ops: gradient statistics are not captured");
  const int S = s.size();
  const Idx rows = S * P, blk = rows * d.width;
  RowMat<T> dh(rows, d.width), G;
  Idx off = 0;
  std::vector<Idx> offs;
  for (int l = 0; l <= d.depth; ++l) {
    offs.push_back(off);
    const Idx ni = l == 0 ? d.inputs : d.width, no = l == d.depth ? d.outputs : d.width;
    off += no * ni + no;
  }
  const T* adj = dy;
  for (int l = d.depth; l >= 0; --l) {
    const Idx ni = l == 0 ? d.inputs : d.width, no = l == d.depth ? d.outputs : d.width, w = offs[static_cast<std::size_t>(l)];
    const T* in = l == 0 ? x : h + (l - 1) * blk;
    G.resize(no, ni);
    if (sample_sq) {  // the plain layer gradient, and the per-point norms
      G.noalias() = CMap<T>(adj, rows, no).transpose() * CMap<T>(in, rows, ni);
      per_sample_sq_norms(S, P, ni, no, adj, in, sample_sq + 2 * l);
    } else {
      affine_batch_stats(S, P, ni, no, adj, in, offsets, G.data(), s1 + w, s2 + w);
    }
    axpy(no * ni, T(1), G.data(), dparams + w);
    accumulate_double(no * ni, G.data(), r + w);
    G.resize(1, no);
    if (sample_sq) {
      G.row(0) = CMap<T>(adj, rows, no).topRows(P).colwise().sum();
      per_sample_sq_norms(S, P, ni, no, adj, nullptr, sample_sq + 2 * l + 1);
    } else {
      bias_batch_stats(P, no, adj, offsets, G.data(), s1 + w + no * ni, s2 + w + no * ni);
    }
    axpy(no, T(1), G.data(), dparams + w + no * ni);
    accumulate_double(no, G.data(), r + w + no * ni);
    const T* W = params + w;
    if (l == 0) {
      if (dx) Map<T>(dx, rows, ni).noalias() += CMap<T>(adj, rows, no) * CMap<T>(W, no, ni);
      break;
    }
    dh.noalias() = CMap<T>(adj, rows, no) * CMap<T>(W, no, ni);
    T* dzl = dz + (l - 1) * blk;
    std::fill(dzl, dzl + blk, T(0));
    unary_jet_backward_cpu<T>(d.act, d.power, s, P * d.width, z + (l - 1) * blk, h + (l - 1) * blk, dh.data(), dzl);
    adj = dzl;
  }
}

template <class T>
void HostOps<T>::rba_mse_forward(Idx P, Idx k, const T* r, T* lambda, const RbaRule& rule, bool update, bool first,
                                 bool weighted, T* out, double* stats) {
  run([=] {
    if (update)
      for (Idx j = 0; j < k; ++j) {  // rba.h's rba_update, column by column
        double hi = 0, lo = INFINITY;
        for (Idx i = 0; i < P; ++i) {
          const double a = std::abs(static_cast<double>(r[i * k + j]));
          hi = std::max(hi, a);
          lo = std::min(lo, a);
        }
        const bool minmax = rule.minmax && hi > lo;
        const double sc = minmax ? 1.0 / (hi - lo) : (hi > 0 ? 1.0 / hi : 0.0), shift = minmax ? lo : 0.0;
        for (Idx i = 0; i < P; ++i) {
          const double nr = (std::abs(static_cast<double>(r[i * k + j])) - shift) * sc;
          T& l = lambda[i * k + j];
          l = static_cast<T>(first && rule.init_from_residual ? nr : rule.gamma * static_cast<double>(l) + rule.eta * nr);
        }
      }
    double loss = 0, mse = 0;
    for (Idx e = 0; e < P * k; ++e) {
      const double rv = static_cast<double>(r[e]), wr = weighted ? static_cast<double>(lambda[e]) * rv : rv;
      loss += wr * wr;
      mse += rv * rv;
    }
    const double n = static_cast<double>(std::max<Idx>(1, P * k));
    stats[0] = loss / n;
    stats[1] = mse / n;
    out[0] = static_cast<T>(stats[0]);
  });
}
template <class T>
void HostOps<T>::rba_mse_backward(Idx P, Idx k, const T* r, const T* lambda, bool weighted, const T* dloss, T* dr) {
  run([=] {
    const double c = 2.0 * static_cast<double>(dloss[0]) / static_cast<double>(std::max<Idx>(1, P * k));
    for (Idx e = 0; e < P * k; ++e) {
      const double w = weighted ? static_cast<double>(lambda[e]) : 1.0;
      dr[e] += static_cast<T>(c * w * w * static_cast<double>(r[e]));
    }
  });
}

template <class T>
void HostOps<T>::adam(Idx n, const AdamStepScalars* s, const double* guard, int guards, T* p, const T* g, T* m,
                      T* v) {
  run([=] {  // the scalars are read at run time, as a captured step reads them
    for (int k = 0; k < guards; ++k)
      if (guard[k] != 0) return;
    const AdamStepScalars scalars = *s;
    for (Idx i = 0; i < n; ++i) adam_update_entry(scalars, p[i], g[i], m[i], v[i]);
  });
}
template <class T>
void HostOps<T>::count_nonfinite(Idx n, const T* x, double* out) {
  run([=] {
    double c = 0;
    for (Idx i = 0; i < n; ++i) c += std::isfinite(x[i]) ? 0.0 : 1.0;
    out[0] = c;
  });
}
template <class T>
void HostOps<T>::dot(Idx n, const T* x, const T* y, double* out) {
  run([=] {
    double acc = 0;
    for (Idx i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * static_cast<double>(y[i]);
    out[0] = acc;
  });
}
template <class T>
void HostOps<T>::max_abs(Idx n, const T* x, double* out) {
  run([=] {
    double m = 0;
    for (Idx i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(x[i])));
    out[0] = m;
  });
}

template <class T>
void HostOps<T>::affine_batch_stats(int S, Idx P, Idx in, Idx out, const T* dy, const T* a,
                                    const std::vector<Idx>& offsets, T* G, double* s1, double* s2) {
  run([=, offsets = offsets] {
    Map<T> g(G, out, in);
    g.setZero();
    RowMat<T> gb(out, in);
    for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
      const Idx b0 = offsets[b], nb = offsets[b + 1] - b0;
      const double c = static_cast<double>(P) / static_cast<double>(nb);
      gb.setZero();
      for (int s = 0; s < S; ++s)
        gb.noalias() += CMap<T>(dy + (s * P + b0) * out, nb, out).transpose() * CMap<T>(a + (s * P + b0) * in, nb, in);
      g += gb;
      for (Idx e = 0; e < out * in; ++e) {
        const double cv = c * static_cast<double>(gb.data()[e]);
        s1[e] += cv;
        s2[e] += cv * cv;
      }
    }
  });
}
template <class T>
void HostOps<T>::bias_batch_stats(Idx P, Idx out, const T* dy, const std::vector<Idx>& offsets, T* G, double* s1,
                                  double* s2) {
  run([=, offsets = offsets] {
    std::fill(G, G + out, T(0));
    std::vector<T> gb(static_cast<std::size_t>(out));
    for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
      const Idx b0 = offsets[b], nb = offsets[b + 1] - b0;
      const double c = static_cast<double>(P) / static_cast<double>(nb);
      column_sums(dy + b0 * out, nb, out, gb.data());
      for (Idx j = 0; j < out; ++j) {
        G[j] += gb[static_cast<std::size_t>(j)];
        const double cv = c * static_cast<double>(gb[static_cast<std::size_t>(j)]);
        s1[j] += cv;
        s2[j] += cv * cv;
      }
    }
  });
}
template <class T>
void HostOps<T>::per_sample_sq_norms(int S, Idx P, Idx in, Idx out, const T* dy, const T* a, double* acc) {
  run([=] {
    double sq = 0;
    for (Idx i = 0; i < P; ++i) {
      if (!a) {
        for (Idx j = 0; j < out; ++j) sq += static_cast<double>(dy[i * out + j]) * static_cast<double>(dy[i * out + j]);
        continue;
      }
      for (int s = 0; s < S; ++s)
        for (int t = 0; t < S; ++t) {
          double dd = 0, aa = 0;
          for (Idx j = 0; j < out; ++j) dd += static_cast<double>(dy[(s * P + i) * out + j]) * static_cast<double>(dy[(t * P + i) * out + j]);
          for (Idx j = 0; j < in; ++j) aa += static_cast<double>(a[(s * P + i) * in + j]) * static_cast<double>(a[(t * P + i) * in + j]);
          sq += dd * aa;
        }
    }
    acc[0] += sq;
  });
}

template <class T>
void HostOps<T>::begin_capture() {
  JETPINN_CHECK(!m_capturing, "host ops: begin_capture while already capturing");
  m_capturing = true;
  m_record.clear();
}
template <class T>
void HostOps<T>::end_capture() {
  JETPINN_CHECK(m_capturing, "host ops: end_capture without begin_capture");
  m_capturing = false;
  m_graph = std::move(m_record);
  m_record.clear();
}
template <class T>
void HostOps<T>::launch() {
  JETPINN_CHECK(!m_capturing, "host ops: launch while capturing");
  for (auto& f : m_graph) f();
}
template <class T>
void HostOps<T>::reset_capture() {
  m_capturing = false;
  m_record.clear();
  m_graph.clear();
}

template class HostOps<float>;
template class HostOps<double>;

}  // namespace jetpinn
