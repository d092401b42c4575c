// The tape: a record of one forward pass over jets, and the reverse sweep that gives parameter gradients.
// Every node holds a jet tensor (rows = streams x points, stream-major; see tensor.h) computed eagerly when
// recorded. backward(loss) walks the record in reverse, accumulating (+=) adjoints of every stream, and adds
// parameter gradients into the ParamStore's flat gradient (call params.zero_grad() first).
// reset() starts a new record but keeps every node's buffers, so a training step allocates nothing once warm.
// With a Backend (backend.h) set, the tape records the same nodes (shapes, checks) but the backend holds their
// values and adjoints in its memory (a CUDA device) and runs each op; value() then downloads on demand.
#pragma once
#include <deque>
#include <string>

#include "activations.h"
#include "backend_ops.h"
#include "grad_stats.h"
#include "params.h"
#include "streams.h"
#include "tensor.h"

namespace jetpinn {

enum class Op { Input, Constant, Affine, LinearConst, Unary, Add, Sub, Mul, Scale, AddScalar, Component, SliceCols,
                ConcatCols, Sum, Mean, RbaMse, DenseStack };

template <class T>
struct Node {
  Op op = Op::Constant;
  int a = -1, b = -1;          // input nodes
  int w = -1, bias = -1;       // parameter entries (Affine)
  double scalar = 0;           // Scale, AddScalar
  Activation act = Activation::Tanh;
  int power = 0;               // Activation::Power
  Index i0 = 0, i1 = 0;        // Component: stream; SliceCols: [i0, i1)
  StreamSetPtr streams;
  Index points = 0;
  Index rows = 0, cols = 0;    // the value's shape (streams * points x cols), also when a backend holds it
  bool needs_grad = false;
  bool batched = false;        // Affine: part of the batched collocation term (gradient statistics)
  Tensor<T> value, grad;
  RowMat<T> cmat;              // LinearConst: fixed matrix (out x in)
  const T* src = nullptr;      // Input, Constant: the host data while the op is recorded (for a backend)
  T* lambda = nullptr;         // RbaMse: the multipliers, in the tape's memory (host, or the backend's)
  RbaRule rule;                // RbaMse
  bool update = false, first = false, weighted = false;  // RbaMse
  double stats[2] = {0, 0};    // RbaMse on the host: loss, mean(r^2)
  jetpinn::DenseStack stack;   // DenseStack: the MLP's shape (w: its first weight)
};

template <class T>
class Backend;

template <class T>
class Tape;

template <class M>
auto view(const M& m) {
  using T = std::remove_cv_t<std::remove_pointer_t<decltype(m.data())>>;
  return ConstMatView<T>(m.data(), m.rows(), m.cols());
}

// A handle to a node of a tape. Cheap to copy; valid until the tape's next reset().
template <class T>
class Var {
 public:
  Var() = default;
  Var(Tape<T>* tape, int id) : m_tape(tape), m_id(id) {}
  Tape<T>& tape() const { return *m_tape; }
  int id() const { return m_id; }
  const Node<T>& node() const;
  const Tensor<T>& value() const { return m_tape->value(m_id); }
  const StreamSet& streams() const { return *node().streams; }
  Index points() const { return node().points; }
  Index cols() const { return node().cols; }
  // One derivative stream as a plain (value-only) tensor of points x cols: u.d("xx"), u.d("lap").
  Var d(const std::string& stream) const;
  Var col(Index c) const;  // one output column, all streams

 private:
  Tape<T>* m_tape = nullptr;
  int m_id = -1;
};

template <class T>
class Tape {
 public:
  explicit Tape(ParamStore<T>* params = nullptr) : m_params(params) {}
  void set_params(ParamStore<T>* params) { m_params = params; }
  ParamStore<T>* params() const { return m_params; }
  // Run every op on `backend` (null: on the host). Set before recording.
  void set_backend(Backend<T>* backend) { m_backend = backend; }
  Backend<T>* backend() const { return m_backend; }

  void reset() { m_count = 0; }
  int size() const { return m_count; }
  const Node<T>& node(int id) const { return m_nodes[static_cast<std::size_t>(id)]; }
  // A node's value on the host (downloaded from the backend when there is one).
  const Tensor<T>& value(int id);

  // Leaves. input(): points (P x d) seeded as a jet of the inputs (u = x, u_(i) = e_i, higher streams 0).
  Var<T> input(ConstMatView<T> points, StreamSetPtr streams);
  Var<T> constant(ConstMatView<T> values);  // a plain tensor, no gradient
  Var<T> input(const RowMat<T>& points, StreamSetPtr streams) { return input(view(points), std::move(streams)); }
  Var<T> input(const Tensor<T>& points, StreamSetPtr streams) { return input(view(points), std::move(streams)); }
  Var<T> constant(const RowMat<T>& values) { return constant(view(values)); }
  Var<T> constant(const Tensor<T>& values) { return constant(view(values)); }

  Var<T> affine(Var<T> x, int weight, int bias);  // x W^T + b; b only on the value stream; bias -1 for none
  Var<T> linear_const(Var<T> x, const RowMat<T>& c);  // x C^T with a fixed C (out x in), every stream
  Var<T> unary(Var<T> x, Activation f, int power = 0);
  Var<T> add(Var<T> a, Var<T> b);
  Var<T> sub(Var<T> a, Var<T> b);
  Var<T> mul(Var<T> a, Var<T> b);
  Var<T> scale(Var<T> x, double c);
  Var<T> add_scalar(Var<T> x, double c);  // value stream only (derivatives of a constant vanish)
  Var<T> component(Var<T> x, int stream);
  Var<T> slice_cols(Var<T> x, Index c0, Index c1);
  Var<T> concat_cols(Var<T> a, Var<T> b);
  Var<T> sum(Var<T> x);   // plain tensor -> 1 x 1
  Var<T> mean(Var<T> x);  // plain tensor -> 1 x 1
  // RBA update and loss of a plain P x k residual in one op (backend_ops.h's RbaRule): updates `lambda` (P x k,
  // in this tape's memory) when `update`, returns mean((lambda r)^2) (weighted) or mean(r^2) as 1 x 1.
  // stats(): that loss and mean(r^2), in double.
  Var<T> rba_mse(Var<T> r, T* lambda, const RbaRule& rule, bool update, bool first, bool weighted);
  // A whole plain MLP (backend_ops.h's DenseStack) from the embedded input jet x, parameters from entry
  // `first_weight` on; recorded by Mlp::forward only on a backend that takes it (dense_stack_supported).
  Var<T> dense_stack(Var<T> x, int first_weight, const DenseStack& d);
  bool batched() const { return m_batched; }

  // Reverse sweep from a 1 x 1 loss.
  void backward(Var<T> loss);

  // Gradient statistics: affine nodes recorded while set_batched(true) hand their parameter gradients to
  // `stats` in the reverse sweep (when it is active), which splits them over batches of points.
  void set_grad_stats(GradStats<T>* stats) { m_stats = stats; }
  void set_batched(bool on) { m_batched = on; }

 private:
  ParamStore<T>* m_params = nullptr;
  Backend<T>* m_backend = nullptr;
  GradStats<T>* m_stats = nullptr;
  bool m_batched = false;
  std::deque<Node<T>> m_nodes;  // deque: references stay valid as nodes are appended
  int m_count = 0;
  Node<T>& fresh(Op op, StreamSetPtr streams, Index points, Index cols);
  // A new node reading a and b (same streams and shape) / reading x, with its inputs and needs_grad set.
  Node<T>& fresh_binary(Op op, Var<T> a, Var<T> b, const char* what);
  Node<T>& fresh_unary(Op op, Var<T> x, StreamSetPtr streams, Index cols);
  Node<T>& at(int id) { return m_nodes[static_cast<std::size_t>(id)]; }
  void check_same(const Node<T>& a, const Node<T>& b, const char* what) const;
  void check_plain(const Node<T>& x, const char* what) const;
  void backward_node(Node<T>& n);
  Var<T> run(Node<T>& n);  // computes a freshly set-up node (host or backend) and returns its handle
};

template <class T>
const Node<T>& Var<T>::node() const {
  return m_tape->node(m_id);
}
template <class T>
Var<T> Var<T>::d(const std::string& stream) const {
  return m_tape->component(*this, streams().index(stream));
}
template <class T>
Var<T> Var<T>::col(Index c) const {
  return m_tape->slice_cols(*this, c, c + 1);
}

// Arithmetic on Vars builds tape nodes; derived ops are one-liners over the primitives.
template <class T> Var<T> operator+(Var<T> a, Var<T> b) { return a.tape().add(a, b); }
template <class T> Var<T> operator-(Var<T> a, Var<T> b) { return a.tape().sub(a, b); }
template <class T> Var<T> operator*(Var<T> a, Var<T> b) { return a.tape().mul(a, b); }
template <class T> Var<T> operator+(Var<T> a, double c) { return a.tape().add_scalar(a, c); }
template <class T> Var<T> operator+(double c, Var<T> a) { return a.tape().add_scalar(a, c); }
template <class T> Var<T> operator-(Var<T> a, double c) { return a.tape().add_scalar(a, -c); }
template <class T> Var<T> operator-(double c, Var<T> a) { return a.tape().add_scalar(a.tape().scale(a, -1), c); }
template <class T> Var<T> operator-(Var<T> a) { return a.tape().scale(a, -1); }
template <class T> Var<T> operator*(Var<T> a, double c) { return a.tape().scale(a, c); }
template <class T> Var<T> operator*(double c, Var<T> a) { return a.tape().scale(a, c); }
template <class T> Var<T> operator/(Var<T> a, double c) { return a.tape().scale(a, 1.0 / c); }
template <class T> Var<T> operator/(Var<T> a, Var<T> b) { return a * a.tape().unary(b, Activation::Reciprocal); }
template <class T> Var<T> operator/(double c, Var<T> b) { return b.tape().unary(b, Activation::Reciprocal) * c; }
template <class T> Var<T> tanh(Var<T> x) { return x.tape().unary(x, Activation::Tanh); }
template <class T> Var<T> sin(Var<T> x) { return x.tape().unary(x, Activation::Sin); }
template <class T> Var<T> cos(Var<T> x) { return x.tape().unary(x, Activation::Cos); }
template <class T> Var<T> exp(Var<T> x) { return x.tape().unary(x, Activation::Exp); }
template <class T> Var<T> log(Var<T> x) { return x.tape().unary(x, Activation::Log); }
template <class T> Var<T> sqrt(Var<T> x) { return x.tape().unary(x, Activation::Sqrt); }
template <class T> Var<T> sigmoid(Var<T> x) { return x.tape().unary(x, Activation::Sigmoid); }
template <class T> Var<T> softplus(Var<T> x) { return x.tape().unary(x, Activation::Softplus); }
template <class T> Var<T> erf(Var<T> x) { return x.tape().unary(x, Activation::Erf); }
template <class T> Var<T> pow(Var<T> x, int p) { return x.tape().unary(x, Activation::Power, p); }
template <class T> Var<T> square(Var<T> x) { return x * x; }
template <class T> Var<T> sum(Var<T> x) { return x.tape().sum(x); }
template <class T> Var<T> mean(Var<T> x) { return x.tape().mean(x); }
template <class T> Var<T> concat_cols(Var<T> a, Var<T> b) { return a.tape().concat_cols(a, b); }

}  // namespace jetpinn
