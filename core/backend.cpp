// Backend (see backend.h): each tape op as BackendOps calls on the backend's buffers.
#include "backend.h"

#include <cstring>

namespace jetpinn {

template <class T>
Backend<T>::Backend(std::unique_ptr<BackendOps<T>> ops) : m_ops(std::move(ops)) {
  JETPINN_CHECK(m_ops, "backend: no ops");
}

template <class T>
template <class U>
void Backend<T>::free_buffer(OpsBuffer<U>& b) {
  if (b.data) m_ops->release(b.data);
  b = {};
}

template <class T>
Backend<T>::~Backend() {
  for (auto& st : m_structures)
    for (auto& n : st)
      for (auto* b : {&n.value, &n.grad, &n.aux, &n.aux2, &n.aux3}) free_buffer(*b);
  for (auto& st : m_structures)
    for (auto& n : st) free_buffer(n.stats);
  for (auto& s : m_slots) free_buffer(s);
  for (auto* b : {&m_values, &m_grads, &m_m, &m_v, &m_tmp}) free_buffer(*b);
  for (auto* b : {&m_scalars, &m_adam_scalars, &m_s1, &m_s2, &m_r, &m_sq}) free_buffer(*b);
}

template <class T>
template <class U>
U* Backend<T>::ensure(OpsBuffer<U>& b, std::size_t n) {
  if (n > b.capacity) {
    free_buffer(b);
    b.data = static_cast<U*>(m_ops->allocate(sizeof(U) * n));
    b.capacity = n;
    ++m_allocations;
  }
  return b.data;
}

template <class T>
void Backend<T>::use_structure(int k) {
  JETPINN_CHECK(k >= 0, "backend: structure index must be >= 0");
  if (static_cast<std::size_t>(k) >= m_structures.size()) m_structures.resize(static_cast<std::size_t>(k) + 1);
  m_nodes_ptr = &m_structures[static_cast<std::size_t>(k)];
}

template <class T>
void Backend<T>::attach(ParamStore<T>& params) {
  m_store = &params;
  m_n = params.size();
  ensure(m_values, static_cast<std::size_t>(m_n));
  ensure(m_grads, static_cast<std::size_t>(m_n));
  ensure(m_m, static_cast<std::size_t>(m_n));
  ensure(m_v, static_cast<std::size_t>(m_n));
  push_params(params);
  m_ops->fill(m_n, T(0), m_grads.data);
  m_ops->fill(m_n, T(0), m_m.data);
  m_ops->fill(m_n, T(0), m_v.data);
}

template <class T>
void Backend<T>::push_params(const ParamStore<T>& params) {
  JETPINN_CHECK(params.size() == m_n, "backend: " << params.size() << " parameters, attached " << m_n);
  m_ops->upload(m_values.data, params.values(), sizeof(T) * static_cast<std::size_t>(m_n));
}
template <class T>
void Backend<T>::pull_params(ParamStore<T>& params) {
  JETPINN_CHECK(params.size() == m_n, "backend: " << params.size() << " parameters, attached " << m_n);
  m_ops->download(params.values(), m_values.data, sizeof(T) * static_cast<std::size_t>(m_n));
}
template <class T>
void Backend<T>::pull_grads(ParamStore<T>& params) {
  JETPINN_CHECK(params.size() == m_n, "backend: " << params.size() << " parameters, attached " << m_n);
  m_ops->download(params.grads(), m_grads.data, sizeof(T) * static_cast<std::size_t>(m_n));
}
template <class T>
void Backend<T>::zero_grads() {
  m_ops->fill(m_n, T(0), m_grads.data);
}

template <class T>
void Backend<T>::upload_if_changed(NodeBufs& nb, Op op, OpsBuffer<T>& b, const T* host, std::size_t n) {
  const bool same = nb.host_op == op && nb.host.size() == n && b.capacity >= n &&
                    std::memcmp(nb.host.data(), host, sizeof(T) * n) == 0;
  if (same) return;
  ensure(b, n);
  nb.host.assign(host, host + n);
  nb.host_op = op;
  m_ops->upload(b.data, nb.host.data(), sizeof(T) * n);
}

template <class T>
void Backend<T>::forward(Tape<T>& tape, int id) {
  JETPINN_CHECK(m_store, "backend: no parameters attached");
  if (static_cast<std::size_t>(id) >= nodes().size()) nodes().resize(static_cast<std::size_t>(id) + 1);
  const Node<T>& n = tape.node(id);
  NodeBufs& nb = nodes()[static_cast<std::size_t>(id)];
  const Index size = n.rows * n.cols;
  T* y = ensure(nb.value, static_cast<std::size_t>(std::max<Index>(size, 1)));
  const Node<T>* a = n.a >= 0 ? &tape.node(n.a) : nullptr;
  const Node<T>* b = n.b >= 0 ? &tape.node(n.b) : nullptr;
  const T* x = a ? nodes()[static_cast<std::size_t>(n.a)].value.data : nullptr;
  const T* xb = b ? nodes()[static_cast<std::size_t>(n.b)].value.data : nullptr;
  BackendOps<T>& o = *m_ops;
  // Any other op at this index overwrites the buffers an upload cached.
  if (n.op != Op::Input && n.op != Op::Constant && n.op != Op::LinearConst) nb.host_op = Op::Sum;
  switch (n.op) {
    case Op::Input: {
      // The seeded jet, built on the host: u = x, u_(i) = e_i, higher streams 0.
      const Index P = n.points, d = n.cols;
      m_host_seed.assign(static_cast<std::size_t>(size), T(0));
      std::copy(n.src, n.src + P * d, m_host_seed.begin());
      for (int s = 1; s < n.streams->size(); ++s) {
        const Stream& st = n.streams->stream(s);
        if (st.order() == 1 && !st.collapsed())
          for (Index p = 0; p < P; ++p) m_host_seed[static_cast<std::size_t>((s * P + p) * d + st.terms[0][0])] = T(1);
      }
      upload_if_changed(nb, n.op, nb.value, m_host_seed.data(), static_cast<std::size_t>(size));
      break;
    }
    case Op::Constant: upload_if_changed(nb, n.op, nb.value, n.src, static_cast<std::size_t>(size)); break;
    case Op::Affine: {
      const ParamInfo& w = m_store->info(n.w);
      const T* bias = n.bias >= 0 ? m_values.data + m_store->info(n.bias).offset : nullptr;
      o.affine_forward(n.rows, n.points, a->cols, n.cols, x, m_values.data + w.offset, bias, y);
      break;
    }
    case Op::LinearConst:
      upload_if_changed(nb, n.op, nb.aux, n.cmat.data(), static_cast<std::size_t>(n.cmat.size()));
      o.affine_forward(n.rows, n.points, a->cols, n.cols, x, nb.aux.data, nullptr, y);
      break;
    case Op::Unary: o.unary_forward(*a->streams, n.act, n.power, a->points * a->cols, x, y); break;
    case Op::Add: o.add(size, x, xb, y); break;
    case Op::Sub: o.sub(size, x, xb, y); break;
    case Op::Mul: o.product_forward(*a->streams, a->points * a->cols, x, xb, y); break;
    case Op::Scale: o.scale(size, static_cast<T>(n.scalar), x, y); break;
    case Op::AddScalar:
      o.copy(y, x, sizeof(T) * static_cast<std::size_t>(size));
      o.add_constant(n.points * n.cols, static_cast<T>(n.scalar), y);
      break;
    case Op::Component: o.copy(y, x + n.i0 * a->points * a->cols, sizeof(T) * static_cast<std::size_t>(size)); break;
    case Op::SliceCols: o.copy_cols(n.rows, n.cols, x + n.i0, a->cols, y, n.cols, false); break;
    case Op::ConcatCols:
      o.copy_cols(n.rows, a->cols, x, a->cols, y, n.cols, false);
      o.copy_cols(n.rows, b->cols, xb, b->cols, y + a->cols, n.cols, false);
      break;
    case Op::Sum: o.sum(a->rows * a->cols, x, 1.0, y); break;
    case Op::Mean: o.sum(a->rows * a->cols, x, 1.0 / static_cast<double>(a->rows * a->cols), y); break;
    case Op::DenseStack: {
      const auto blk = static_cast<std::size_t>(n.stack.depth * n.rows * n.stack.width);
      o.dense_stack_forward(n.stack, *a->streams, n.points, m_values.data + m_store->info(n.w).offset, x, y,
                            ensure(nb.aux, blk), ensure(nb.aux2, blk));
      break;
    }
    case Op::RbaMse:
      o.rba_mse_forward(a->points, a->cols, x, n.lambda, n.rule, n.update, n.first, n.weighted, y, ensure(nb.stats, 2));
      break;
  }
}

template <class T>
bool Backend<T>::dense_stack_supported(const DenseStack& d, const StreamSet& s, bool batched) {
  if (!batched) return m_ops->dense_stack_supported(d, s);
  if (!m_stats_on) return false;
  return m_ops->dense_stack_supported(d, s) &&
         m_ops->dense_stack_stats_supported(d, s, m_stats_config.batches, m_stats_config.per_sample);
}

template <class T>
void Backend<T>::begin_backward(Tape<T>& tape, int loss) {
  for (int i = 0; i <= loss; ++i) {
    const Node<T>& n = tape.node(i);
    if (!n.needs_grad) continue;
    const Index size = n.rows * n.cols;
    T* g = ensure(nodes()[static_cast<std::size_t>(i)].grad, static_cast<std::size_t>(std::max<Index>(size, 1)));
    m_ops->fill(size, T(0), g);
  }
  m_ops->fill(1, T(1), nodes()[static_cast<std::size_t>(loss)].grad.data);
}

template <class T>
void Backend<T>::backward(Tape<T>& tape, int id) {
  const Node<T>& n = tape.node(id);
  NodeBufs& nb = nodes()[static_cast<std::size_t>(id)];
  const Node<T>* a = n.a >= 0 ? &tape.node(n.a) : nullptr;
  const Node<T>* b = n.b >= 0 ? &tape.node(n.b) : nullptr;
  const bool ga = a && a->needs_grad, gb = b && b->needs_grad;
  T* da = ga ? nodes()[static_cast<std::size_t>(n.a)].grad.data : nullptr;
  T* db = gb ? nodes()[static_cast<std::size_t>(n.b)].grad.data : nullptr;
  const T* x = a ? nodes()[static_cast<std::size_t>(n.a)].value.data : nullptr;
  const T* xb = b ? nodes()[static_cast<std::size_t>(n.b)].value.data : nullptr;
  const T* dy = nb.grad.data;
  const Index size = n.rows * n.cols;
  BackendOps<T>& o = *m_ops;
  switch (n.op) {
    case Op::Input:
    case Op::Constant: break;
    case Op::Affine: {
      const ParamInfo& w = m_store->info(n.w);
      const T* W = m_values.data + w.offset;
      T* gW = m_grads.data + w.offset;
      T* gbias = n.bias >= 0 ? m_grads.data + m_store->info(n.bias).offset : nullptr;
      const Index in = a->cols, out = n.cols, P = n.points;
      if (n.batched && m_stats_on) {
        JETPINN_CHECK(m_stats_points < 0 || m_stats_points == P,
                      "gradient statistics: batched layers see " << m_stats_points << " and " << P
                                                                 << " points; only one collocation term can be batched");
        m_stats_points = P;
        const int S = n.streams->size();
        m_seen[static_cast<std::size_t>(n.w)] = 1;
        T* G = ensure(m_tmp, static_cast<std::size_t>(out * in));
        if (m_stats_config.per_sample) {
          o.fill(out * in, T(0), G);
          o.affine_backward(n.rows, P, in, out, x, W, dy, G, nullptr, nullptr);
          o.per_sample_sq_norms(S, P, in, out, dy, x, m_sq.data + n.w);
        } else {
          std::vector<Index> offsets;
          const Index B = m_stats_config.batches;
          JETPINN_CHECK(B <= P, "gradient statistics: " << B << " batches but only " << P << " collocation points");
          for (Index k = 0; k <= B; ++k) offsets.push_back(k * P / B);
          o.affine_batch_stats(S, P, in, out, dy, x, offsets, G, m_s1.data + w.offset, m_s2.data + w.offset);
        }
        o.axpy(out * in, T(1), G, gW);
        o.accumulate_double(out * in, G, m_r.data + w.offset);
        if (gbias) {
          const Index ob = m_store->info(n.bias).offset;
          m_seen[static_cast<std::size_t>(n.bias)] = 1;
          if (m_stats_config.per_sample) {
            o.fill(out, T(0), G);
            o.affine_backward(n.rows, P, in, out, x, W, dy, nullptr, G, nullptr);
            o.per_sample_sq_norms(S, P, in, out, dy, nullptr, m_sq.data + n.bias);
          } else {
            std::vector<Index> offsets;
            const Index B = m_stats_config.batches;
            for (Index k = 0; k <= B; ++k) offsets.push_back(k * P / B);
            o.bias_batch_stats(P, out, dy, offsets, G, m_s1.data + ob, m_s2.data + ob);
          }
          o.axpy(out, T(1), G, gbias);
          o.accumulate_double(out, G, m_r.data + ob);
        }
        if (da) o.affine_backward(n.rows, P, in, out, x, W, dy, nullptr, nullptr, da);
      } else {
        o.affine_backward(n.rows, P, in, out, x, W, dy, gW, gbias, da);
      }
      break;
    }
    case Op::LinearConst:
      if (da) o.affine_backward(n.rows, n.points, a->cols, n.cols, x, nb.aux.data, dy, nullptr, nullptr, da);
      break;
    case Op::Unary:
      if (da) o.unary_backward(*a->streams, n.act, n.power, a->points * a->cols, x, nb.value.data, dy, da);
      break;
    case Op::Add:
      if (da) o.axpy(size, T(1), dy, da);
      if (db) o.axpy(size, T(1), dy, db);
      break;
    case Op::Sub:
      if (da) o.axpy(size, T(1), dy, da);
      if (db) o.axpy(size, T(-1), dy, db);
      break;
    case Op::Mul: o.product_backward(*a->streams, a->points * a->cols, x, xb, dy, da, db); break;
    case Op::Scale:
      if (da) o.axpy(size, static_cast<T>(n.scalar), dy, da);
      break;
    case Op::AddScalar:
      if (da) o.axpy(size, T(1), dy, da);
      break;
    case Op::Component:
      if (da) o.axpy(size, T(1), dy, da + n.i0 * a->points * a->cols);
      break;
    case Op::SliceCols:
      if (da) o.copy_cols(n.rows, n.cols, dy, n.cols, da + n.i0, a->cols, true);
      break;
    case Op::ConcatCols:
      if (da) o.copy_cols(n.rows, a->cols, dy, n.cols, da, a->cols, true);
      if (db) o.copy_cols(n.rows, b->cols, dy + a->cols, n.cols, db, b->cols, true);
      break;
    case Op::Sum:
      if (da) o.add_broadcast(a->rows * a->cols, dy, 1.0, da);
      break;
    case Op::Mean:
      if (da) o.add_broadcast(a->rows * a->cols, dy, 1.0 / static_cast<double>(a->rows * a->cols), da);
      break;
    case Op::DenseStack: {
      const auto blk = static_cast<std::size_t>(n.stack.depth * n.rows * n.stack.width);
      const Index off = m_store->info(n.w).offset;
      if (n.batched && m_stats_on) {
        const bool per_sample = m_stats_config.per_sample;
        const Index P = n.points, B = per_sample ? std::min<Index>(P, 256) : m_stats_config.batches;
        JETPINN_CHECK(m_stats_points < 0 || m_stats_points == P,
                      "gradient statistics: batched layers see " << m_stats_points << " and " << P
                                                                 << " points; only one collocation term can be batched");
        JETPINN_CHECK(B <= P, "gradient statistics: " << B << " batches but only " << P << " collocation points");
        m_stats_points = P;
        std::vector<Index> offsets;
        for (Index k = 0; k <= B; ++k) offsets.push_back(k * P / B);
        for (int p = 0; p < 2 * (n.stack.depth + 1); ++p) m_seen[static_cast<std::size_t>(n.w + p)] = 1;
        o.dense_stack_backward_stats(n.stack, *a->streams, P, m_values.data + off, x, dy, nb.aux.data, nb.aux2.data,
                                     ensure(nb.aux3, blk), offsets, m_grads.data + off,
                                     per_sample ? nullptr : m_s1.data + off, per_sample ? nullptr : m_s2.data + off,
                                     m_r.data + off, per_sample ? m_sq.data + n.w : nullptr, da);
        break;
      }
      o.dense_stack_backward(n.stack, *a->streams, n.points, m_values.data + off, x, dy, nb.aux.data, nb.aux2.data,
                             ensure(nb.aux3, blk), m_grads.data + off, da);
      break;
    }
    case Op::RbaMse:
      if (da) o.rba_mse_backward(a->points, a->cols, x, n.lambda, n.weighted, dy, da);
      break;
  }
}

template <class T>
void Backend<T>::fetch(Tape<T>& tape, int id, Tensor<T>& out) {
  const Node<T>& n = tape.node(id);
  out.resize(n.rows, n.cols);
  m_ops->download(out.data(), nodes()[static_cast<std::size_t>(id)].value.data,
                  sizeof(T) * static_cast<std::size_t>(n.rows * n.cols));
}

template <class T>
void Backend<T>::stats_of(const Tape<T>& tape, int id, double* dst) {
  JETPINN_CHECK(tape.node(id).op == Op::RbaMse, "backend: node " << id << " is not an RBA loss");
  m_ops->copy(dst, nodes()[static_cast<std::size_t>(id)].stats.data, 2 * sizeof(double));
}

template <class T>
T* Backend<T>::slot(int k, Index n) {
  if (static_cast<std::size_t>(k) >= m_slots.size()) m_slots.resize(static_cast<std::size_t>(k) + 1);
  return ensure(m_slots[static_cast<std::size_t>(k)], static_cast<std::size_t>(std::max<Index>(n, 1)));
}

template <class T>
void Backend<T>::adam_apply(int guard, int guards) {
  JETPINN_CHECK(m_adam_scalars.data, "backend: Adam's scalars were never set");
  JETPINN_CHECK(guards == 0 || m_scalars.capacity >= static_cast<std::size_t>(guard + guards), "backend: guard out of range");
  m_ops->adam(m_n, reinterpret_cast<const AdamStepScalars*>(m_adam_scalars.data), m_scalars.data + guard, guards,
              m_values.data, m_grads.data, m_m.data, m_v.data);
}

template <class T>
void Backend<T>::set_adam_scalars(const AdamConfig& c, long t, double lr) {
  const AdamStepScalars s = adam_step_scalars(c.beta1, c.beta2, c.eps, t, lr);
  ensure(m_adam_scalars, 8);
  m_ops->upload(m_adam_scalars.data, &s, sizeof s);
}

template <class T>
void Backend<T>::set_adam_state(const std::vector<T>& m, const std::vector<T>& v) {
  JETPINN_CHECK(static_cast<Index>(m.size()) == m_n && static_cast<Index>(v.size()) == m_n, "backend: Adam state size");
  m_ops->upload(m_m.data, m.data(), sizeof(T) * m.size());
  m_ops->upload(m_v.data, v.data(), sizeof(T) * v.size());
}

template <class T>
void Backend<T>::get_adam_state(std::vector<T>& m, std::vector<T>& v) {
  m.resize(static_cast<std::size_t>(m_n));
  v.resize(static_cast<std::size_t>(m_n));
  m_ops->download(m.data(), m_m.data, sizeof(T) * m.size());
  m_ops->download(v.data(), m_v.data, sizeof(T) * v.size());
}

template <class T>
double* Backend<T>::scalars(int n) {
  return ensure(m_scalars, static_cast<std::size_t>(n));
}

template <class T>
void Backend<T>::download_scalars(double* host, int n) {
  m_ops->download(host, m_scalars.data, sizeof(double) * static_cast<std::size_t>(n));
}

template <class T>
void Backend<T>::count_nonfinite(Index n, const T* x, int at) {
  m_ops->count_nonfinite(n, x, m_scalars.data + at);
}

template <class T>
void Backend<T>::stats_begin(const GradStatsConfig& config) {
  config.validate();
  JETPINN_CHECK(m_store, "backend: no parameters attached");
  m_stats_on = true;
  m_stats_config = config;
  m_stats_points = -1;
  m_seen.assign(static_cast<std::size_t>(m_store->count()), 0);
  const std::vector<double> zeros(static_cast<std::size_t>(std::max<Index>(m_n, m_store->count())), 0.0);
  for (auto* b : {&m_s1, &m_s2, &m_r}) {
    ensure(*b, static_cast<std::size_t>(m_n));
    m_ops->upload(b->data, zeros.data(), sizeof(double) * static_cast<std::size_t>(m_n));
  }
  ensure(m_sq, static_cast<std::size_t>(m_store->count()));
  m_ops->upload(m_sq.data, zeros.data(), sizeof(double) * static_cast<std::size_t>(m_store->count()));
}

template <class T>
GradSnr Backend<T>::stats_finish(const ParamStore<T>& params) {
  JETPINN_CHECK(m_stats_on, "gradient statistics: finish() without begin()");
  m_stats_on = false;
  const auto n = static_cast<std::size_t>(m_n);
  std::vector<T> g(n);
  std::vector<double> s1(n), s2(n), r(n), sq(static_cast<std::size_t>(params.count()));
  m_ops->download(g.data(), m_grads.data, sizeof(T) * n);
  m_ops->download(s1.data(), m_s1.data, sizeof(double) * n);
  m_ops->download(s2.data(), m_s2.data, sizeof(double) * n);
  m_ops->download(r.data(), m_r.data, sizeof(double) * n);
  m_ops->download(sq.data(), m_sq.data, sizeof(double) * sq.size());
  return grad_snr_from_sums(params, g.data(), m_stats_config, m_stats_points, s1.data(), s2.data(), r.data(),
                            sq.data(), m_seen);
}

template class Backend<float>;
template class Backend<double>;

}  // namespace jetpinn
