// Tape forward ops (run as they are recorded) and their reverse rules.
// Linear ops (affine, sums, slices, scaling) act on every stream alike; the bias and additive constants touch
// the value stream only; nonlinear ops go through the StreamSet's chain-rule programs (jet_kernels_cpu).
#include "tape.h"

#include <utility>

#include "backend.h"
#include "host_ops.h"
#include "jet_kernels_cpu.h"

namespace jetpinn {

template <class T>
Node<T>& Tape<T>::fresh(Op op, StreamSetPtr streams, Index points, Index cols) {
  if (m_count == static_cast<int>(m_nodes.size())) m_nodes.emplace_back();
  Node<T>& n = m_nodes[static_cast<std::size_t>(m_count++)];
  n.op = op;
  n.a = n.b = n.w = n.bias = -1;
  n.scalar = 0;
  n.power = 0;
  n.i0 = n.i1 = 0;
  n.needs_grad = false;
  n.batched = false;
  n.points = points;
  n.rows = streams->size() * points;
  n.cols = cols;
  n.src = nullptr;
  n.lambda = nullptr;
  if (!m_backend) n.value.resize(n.rows, n.cols);
  n.streams = std::move(streams);
  return n;
}

template <class T>
const Tensor<T>& Tape<T>::value(int id) {
  Node<T>& n = at(id);
  if (m_backend) m_backend->fetch(*this, id, n.value);
  return n.value;
}

template <class T>
void Tape<T>::check_same(const Node<T>& a, const Node<T>& b, const char* what) const {
  JETPINN_CHECK(a.streams.get() == b.streams.get() || (a.streams->size() == 1 && b.streams->size() == 1),
                what << ": operands carry different jet streams [" << a.streams->describe() << "] vs ["
                     << b.streams->describe() << "]");
  JETPINN_CHECK(a.rows == b.rows && a.cols == b.cols,
                what << ": shape mismatch " << shape_str(a.rows, a.cols) << " vs " << shape_str(b.rows, b.cols));
}

template <class T>
void Tape<T>::check_plain(const Node<T>& x, const char* what) const {
  JETPINN_CHECK(x.streams->size() == 1, what << " takes a plain tensor; this one carries streams ["
                                             << x.streams->describe() << "]: pick one first, as in u.d(\"xx\")");
}

template <class T>
Node<T>& Tape<T>::fresh_binary(Op op, Var<T> av, Var<T> bv, const char* what) {
  check_same(node(av.id()), node(bv.id()), what);
  const Node<T>& a0 = node(av.id());
  Node<T>& n = fresh(op, a0.streams, a0.points, a0.cols);
  n.a = av.id();
  n.b = bv.id();
  n.needs_grad = node(av.id()).needs_grad || node(bv.id()).needs_grad;
  return n;
}

template <class T>
Node<T>& Tape<T>::fresh_unary(Op op, Var<T> xv, StreamSetPtr streams, Index cols) {
  const Node<T>& x0 = node(xv.id());
  Node<T>& n = fresh(op, std::move(streams), x0.points, cols);
  n.a = xv.id();
  n.needs_grad = node(xv.id()).needs_grad;
  return n;
}

// The forward computation of every op on the host; with a backend, the backend's.
template <class T>
Var<T> Tape<T>::run(Node<T>& n) {
  const int id = m_count - 1;
  if (m_backend) {
    m_backend->forward(*this, id);
    n.src = nullptr;
    return Var<T>(this, id);
  }
  const Node<T>* a = n.a >= 0 ? &node(n.a) : nullptr;
  const Node<T>* b = n.b >= 0 ? &node(n.b) : nullptr;
  switch (n.op) {
    case Op::Input: {
      const Index P = n.points, d = n.cols;
      n.value.set_zero();
      n.value.block_rows(0, P) = ConstMatView<T>(n.src, P, d);
      for (int s = 1; s < n.streams->size(); ++s) {
        const Stream& st = n.streams->stream(s);
        if (st.order() == 1 && !st.collapsed()) n.value.block_rows(s * P, P).col(st.terms[0][0]).setOnes();
      }
      break;
    }
    case Op::Constant: n.value.mat() = ConstMatView<T>(n.src, n.rows, n.cols); break;
    case Op::Affine: {
      ConstMatView<T> W = std::as_const(*m_params).value(n.w);
      n.value.mat().noalias() = a->value.mat() * W.transpose();
      if (n.bias >= 0) n.value.block_rows(0, n.points).rowwise() += std::as_const(*m_params).value(n.bias).row(0);
      break;
    }
    case Op::LinearConst: n.value.mat().noalias() = a->value.mat() * n.cmat.transpose(); break;
    case Op::Unary:
      unary_jet_forward_cpu<T>(n.act, n.power, *a->streams, a->points * a->cols, a->value.data(), n.value.data());
      break;
    case Op::Add: n.value.mat() = a->value.mat() + b->value.mat(); break;
    case Op::Sub: n.value.mat() = a->value.mat() - b->value.mat(); break;
    case Op::Mul:
      product_jet_forward_cpu<T>(*a->streams, a->points * a->cols, a->value.data(), b->value.data(), n.value.data());
      break;
    case Op::Scale: n.value.mat() = a->value.mat() * T(n.scalar); break;
    case Op::AddScalar:
      n.value.mat() = a->value.mat();
      n.value.block_rows(0, n.points).array() += T(n.scalar);
      break;
    case Op::Component: n.value.mat() = a->value.block_rows(n.i0 * a->points, a->points); break;
    case Op::SliceCols: n.value.mat() = a->value.mat().middleCols(n.i0, n.i1 - n.i0); break;
    case Op::ConcatCols:
      n.value.mat().leftCols(a->cols) = a->value.mat();
      n.value.mat().rightCols(b->cols) = b->value.mat();
      break;
    case Op::Sum: n.value(0, 0) = a->value.mat().sum(); break;
    case Op::Mean: n.value(0, 0) = a->value.mat().sum() / T(a->value.size()); break;
    case Op::DenseStack: JETPINN_CHECK(false, "a dense stack is recorded only on a backend"); break;
    case Op::RbaMse: {
      HostOps<T> ops;
      ops.rba_mse_forward(a->points, a->cols, a->value.data(), n.lambda, n.rule, n.update, n.first, n.weighted,
                          n.value.data(), n.stats);
      break;
    }
  }
  n.src = nullptr;
  return Var<T>(this, id);
}

template <class T>
Var<T> Tape<T>::input(ConstMatView<T> points, StreamSetPtr streams) {
  JETPINN_CHECK(points.cols() == streams->num_inputs() || streams->size() == 1,
                "input points have " << points.cols() << " columns but the streams are over "
                                     << streams->num_inputs() << " inputs (" << streams->describe() << ")");
  Node<T>& n = fresh(Op::Input, std::move(streams), points.rows(), points.cols());
  n.src = points.data();
  return run(n);
}

template <class T>
Var<T> Tape<T>::constant(ConstMatView<T> values) {
  Node<T>& n = fresh(Op::Constant, StreamSet::value_only(), values.rows(), values.cols());
  n.src = values.data();
  return run(n);
}

template <class T>
Var<T> Tape<T>::affine(Var<T> xv, int weight, int bias) {
  JETPINN_CHECK(m_params, "affine layer on a tape without a ParamStore");
  ConstMatView<T> W = std::as_const(*m_params).value(weight);
  const Node<T>& x0 = node(xv.id());
  JETPINN_CHECK(W.cols() == x0.cols, "affine layer '" << m_params->info(weight).name << "': weight "
                                                     << shape_str(W.rows(), W.cols()) << " needs " << W.cols()
                                                     << " input columns, got " << shape_str(x0.rows, x0.cols));
  if (bias >= 0) {
    ConstMatView<T> b = std::as_const(*m_params).value(bias);
    JETPINN_CHECK(b.size() == W.rows(), "bias '" << m_params->info(bias).name << "' has " << b.size()
                                                 << " entries, the layer has " << W.rows() << " outputs");
  }
  Node<T>& n = fresh(Op::Affine, x0.streams, x0.points, W.rows());
  n.a = xv.id();
  n.w = weight;
  n.bias = bias;
  n.needs_grad = true;
  n.batched = m_batched;
  return run(n);
}

template <class T>
Var<T> Tape<T>::linear_const(Var<T> xv, const RowMat<T>& c) {
  const Node<T>& x0 = node(xv.id());
  JETPINN_CHECK(c.cols() == x0.cols, "fixed linear map " << shape_str(c.rows(), c.cols()) << " applied to "
                                                        << shape_str(x0.rows, x0.cols));
  Node<T>& n = fresh_unary(Op::LinearConst, xv, x0.streams, c.rows());
  n.cmat = c;
  return run(n);
}

template <class T>
Var<T> Tape<T>::unary(Var<T> xv, Activation f, int power) {
  const Node<T>& x0 = node(xv.id());
  Node<T>& n = fresh_unary(Op::Unary, xv, x0.streams, x0.cols);
  n.act = f;
  n.power = power;
  return run(n);
}

template <class T>
Var<T> Tape<T>::add(Var<T> av, Var<T> bv) {
  return run(fresh_binary(Op::Add, av, bv, "add"));
}

template <class T>
Var<T> Tape<T>::sub(Var<T> av, Var<T> bv) {
  return run(fresh_binary(Op::Sub, av, bv, "sub"));
}

template <class T>
Var<T> Tape<T>::mul(Var<T> av, Var<T> bv) {
  return run(fresh_binary(Op::Mul, av, bv, "mul"));
}

template <class T>
Var<T> Tape<T>::scale(Var<T> xv, double c) {
  const Node<T>& x0 = node(xv.id());
  Node<T>& n = fresh_unary(Op::Scale, xv, x0.streams, x0.cols);
  n.scalar = c;
  return run(n);
}

template <class T>
Var<T> Tape<T>::add_scalar(Var<T> xv, double c) {
  const Node<T>& x0 = node(xv.id());
  Node<T>& n = fresh_unary(Op::AddScalar, xv, x0.streams, x0.cols);
  n.scalar = c;
  return run(n);
}

template <class T>
Var<T> Tape<T>::component(Var<T> xv, int stream) {
  const Node<T>& x0 = node(xv.id());
  JETPINN_CHECK(stream >= 0 && stream < x0.streams->size(),
                "stream " << stream << " out of range for [" << x0.streams->describe() << "]");
  Node<T>& n = fresh_unary(Op::Component, xv, StreamSet::value_only(), x0.cols);
  n.i0 = stream;
  return run(n);
}

template <class T>
Var<T> Tape<T>::slice_cols(Var<T> xv, Index c0, Index c1) {
  const Node<T>& x0 = node(xv.id());
  JETPINN_CHECK(0 <= c0 && c0 < c1 && c1 <= x0.cols,
                "column slice [" << c0 << ", " << c1 << ") out of range for " << shape_str(x0.rows, x0.cols));
  Node<T>& n = fresh_unary(Op::SliceCols, xv, x0.streams, c1 - c0);
  n.i0 = c0;
  n.i1 = c1;
  return run(n);
}

template <class T>
Var<T> Tape<T>::concat_cols(Var<T> av, Var<T> bv) {
  const Node<T>&a0 = node(av.id()), &b0 = node(bv.id());
  JETPINN_CHECK(a0.streams.get() == b0.streams.get() || (a0.streams->size() == 1 && b0.streams->size() == 1),
                "concat: operands carry different jet streams");
  JETPINN_CHECK(a0.rows == b0.rows, "concat: row counts differ, " << shape_str(a0.rows, a0.cols) << " vs "
                                                                  << shape_str(b0.rows, b0.cols));
  Node<T>& n = fresh(Op::ConcatCols, a0.streams, a0.points, a0.cols + b0.cols);
  n.a = av.id();
  n.b = bv.id();
  n.needs_grad = node(av.id()).needs_grad || node(bv.id()).needs_grad;
  return run(n);
}

template <class T>
Var<T> Tape<T>::sum(Var<T> xv) {
  check_plain(node(xv.id()), "sum");
  Node<T>& n = fresh(Op::Sum, StreamSet::value_only(), 1, 1);
  n.a = xv.id();
  n.needs_grad = node(xv.id()).needs_grad;
  return run(n);
}

template <class T>
Var<T> Tape<T>::mean(Var<T> xv) {
  check_plain(node(xv.id()), "mean");
  JETPINN_CHECK(node(xv.id()).rows * node(xv.id()).cols > 0, "mean of an empty tensor");
  Node<T>& n = fresh(Op::Mean, StreamSet::value_only(), 1, 1);
  n.a = xv.id();
  n.needs_grad = node(xv.id()).needs_grad;
  return run(n);
}

template <class T>
Var<T> Tape<T>::dense_stack(Var<T> xv, int first_weight, const DenseStack& d) {
  JETPINN_CHECK(m_backend && m_params, "a dense stack needs a backend and a ParamStore");
  const Node<T>& x0 = node(xv.id());
  JETPINN_CHECK(x0.cols == d.inputs, "dense stack: " << d.inputs << " input columns expected, got " << x0.cols);
  Node<T>& n = fresh(Op::DenseStack, x0.streams, x0.points, d.outputs);
  n.a = xv.id();
  n.w = first_weight;
  n.stack = d;
  n.needs_grad = true;
  n.batched = m_batched;
  return run(n);
}

template <class T>
Var<T> Tape<T>::rba_mse(Var<T> rv, T* lambda, const RbaRule& rule, bool update, bool first, bool weighted) {
  check_plain(node(rv.id()), "rba_mse");
  JETPINN_CHECK(lambda, "rba_mse: no multiplier buffer");
  Node<T>& n = fresh(Op::RbaMse, StreamSet::value_only(), 1, 1);
  n.a = rv.id();
  n.needs_grad = node(rv.id()).needs_grad;
  n.lambda = lambda;
  n.rule = rule;
  n.update = update;
  n.first = first;
  n.weighted = weighted;
  return run(n);
}

template <class T>
void Tape<T>::backward(Var<T> loss) {
  JETPINN_CHECK(loss.id() >= 0 && loss.id() < m_count, "backward: the loss does not belong to this recording");
  Node<T>& l = at(loss.id());
  JETPINN_CHECK(l.rows == 1 && l.cols == 1, "backward needs a 1 x 1 loss, got " << shape_str(l.rows, l.cols));
  if (m_backend) {
    if (!l.needs_grad) return;
    m_backend->begin_backward(*this, loss.id());
    for (int i = loss.id(); i >= 0; --i)
      if (at(i).needs_grad) m_backend->backward(*this, i);
    return;
  }
  for (int i = 0; i <= loss.id(); ++i) {
    Node<T>& n = at(i);
    if (!n.needs_grad) continue;
    n.grad.resize(n.value.rows(), n.value.cols());
    n.grad.set_zero();
  }
  if (!l.needs_grad) return;  // nothing depends on parameters
  l.grad(0, 0) = T(1);
  for (int i = loss.id(); i >= 0; --i)
    if (at(i).needs_grad) backward_node(at(i));
}

template <class T>
void Tape<T>::backward_node(Node<T>& n) {
  Node<T>* a = n.a >= 0 ? &at(n.a) : nullptr;
  Node<T>* b = n.b >= 0 ? &at(n.b) : nullptr;
  const bool ga = a && a->needs_grad, gb = b && b->needs_grad;
  const auto dy = n.grad.mat();
  switch (n.op) {
    case Op::Input:
    case Op::Constant: break;
    case Op::Affine: {
      ConstMatView<T> W = std::as_const(*m_params).value(n.w);
      if (n.batched && m_stats && m_stats->active()) {
        m_stats->affine(n.w, n.bias, n.streams->size(), n.points, view(n.grad), view(a->value), m_params->grad(n.w),
                        n.bias >= 0 ? m_params->grad(n.bias).data() : nullptr);
      } else {
        m_params->grad(n.w).noalias() += dy.transpose() * a->value.mat();
        if (n.bias >= 0) m_params->grad(n.bias).row(0) += n.grad.block_rows(0, n.points).colwise().sum();
      }
      if (ga) a->grad.mat().noalias() += dy * W;
      break;
    }
    case Op::LinearConst:
      if (ga) a->grad.mat().noalias() += dy * n.cmat;
      break;
    case Op::Unary:
      if (ga)
        unary_jet_backward_cpu<T>(n.act, n.power, *a->streams, a->points * a->value.cols(), a->value.data(),
                                  n.value.data(), n.grad.data(), a->grad.data());
      break;
    case Op::Add:
      if (ga) a->grad.mat() += dy;
      if (gb) b->grad.mat() += dy;
      break;
    case Op::Sub:
      if (ga) a->grad.mat() += dy;
      if (gb) b->grad.mat() -= dy;
      break;
    case Op::Mul:
      product_jet_backward_cpu<T>(*a->streams, a->points * a->value.cols(), a->value.data(), b->value.data(),
                                  n.grad.data(), ga ? a->grad.data() : nullptr, gb ? b->grad.data() : nullptr);
      break;
    case Op::Scale:
      if (ga) a->grad.mat() += dy * T(n.scalar);
      break;
    case Op::AddScalar:
      if (ga) a->grad.mat() += dy;
      break;
    case Op::Component:
      if (ga) a->grad.block_rows(n.i0 * a->points, a->points) += dy;
      break;
    case Op::SliceCols:
      if (ga) a->grad.mat().middleCols(n.i0, n.i1 - n.i0) += dy;
      break;
    case Op::ConcatCols:
      if (ga) a->grad.mat() += dy.leftCols(a->value.cols());
      if (gb) b->grad.mat() += dy.rightCols(b->value.cols());
      break;
    case Op::Sum:
      if (ga) a->grad.mat().array() += n.grad(0, 0);
      break;
    case Op::Mean:
      if (ga) a->grad.mat().array() += n.grad(0, 0) / T(a->value.size());
      break;
    case Op::DenseStack: JETPINN_CHECK(false, "a dense stack is recorded only on a backend"); break;
    case Op::RbaMse:
      if (ga) HostOps<T>().rba_mse_backward(a->points, a->cols, a->value.data(), n.lambda, n.weighted, n.grad.data(),
                                            a->grad.data());
      break;
  }
}

template class Tape<float>;
template class Tape<double>;

}  // namespace jetpinn
