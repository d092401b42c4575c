// Backend<T>: runs a tape's ops, and the rest of a training step (parameters, Adam, RBA multipliers, gradient
// statistics, L-BFGS's vectors), in the memory of a BackendOps (backend_ops.h): a CUDA device
// (kernels/device_ops.h) or, for the tests, the host (host_ops.h). The tape keeps recording what it records on
// the host (node shapes, checks); this class holds every node's value and adjoint as a buffer that it keeps
// across steps by node index, so a warm step allocates nothing (which a CUDA graph capture requires).
// Host data that ops read (input points, constants, fixed linear maps) is uploaded when it differs from the copy
// uploaded last, so unchanged points cost a host compare, not a transfer.
#pragma once
#include <memory>
#include <vector>

#include "adam.h"
#include "grad_stats.h"
#include "params.h"
#include "tape.h"

namespace jetpinn {

// A typed buffer in the backend's memory, grown (never shrunk) on demand.
template <class U>
struct OpsBuffer {
  U* data = nullptr;
  std::size_t capacity = 0;  // entries
};

template <class T>
class Backend {
 public:
  explicit Backend(std::unique_ptr<BackendOps<T>> ops);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  BackendOps<T>& ops() { return *m_ops; }
  long allocations() const { return m_allocations; }  // buffers (re)allocated so far: a graph's pointers hold until it changes
  std::string name() const { return m_ops->name(); }

  // Parameters: a device copy of `params` (values and gradients); attach uploads the values.
  void attach(ParamStore<T>& params);
  T* params() { return m_values.data; }
  T* grads() { return m_grads.data; }
  Index size() const { return m_n; }
  void push_params(const ParamStore<T>& params);  // host -> backend
  void pull_params(ParamStore<T>& params);        // backend -> host values
  void pull_grads(ParamStore<T>& params);         // backend -> host gradients
  void zero_grads();

  // Whether a plain MLP can be one op here; `batched` (its layers feed the gradient statistics): only with the
  // batch statistics in the same sweep (not per-sample).
  bool dense_stack_supported(const DenseStack& d, const StreamSet& s, bool batched);

  // Node buffers are kept per recording structure k (a plain step and a measurement step record different
  // tapes): a captured graph of structure 0 stays valid while structure 1 runs eagerly in between.
  void use_structure(int k);

  // Tape hooks (called by Tape<T> when this backend is set).
  void forward(Tape<T>& tape, int id);
  void begin_backward(Tape<T>& tape, int loss);
  void backward(Tape<T>& tape, int id);
  void fetch(Tape<T>& tape, int id, Tensor<T>& out);
  const T* value_ptr(int id) const { return (*m_nodes_ptr)[static_cast<std::size_t>(id)].value.data; }
  // An RbaMse node's (loss, mean r^2) are left in the backend: copied into this step's scalar block.
  void stats_of(const Tape<T>& tape, int id, double* dst);

  // A persistent buffer of n entries (RBA multipliers): slot k, kept across steps.
  T* slot(int k, Index n);

  // Adam with moments in the backend (core/adam_rule.h's entry update). t is the step number after the increment.
  void set_adam_scalars(const AdamConfig& c, long t, double lr);  // uploads this step's scalars (outside a graph)
  // The update, reading those scalars (capturable); skipped when scalar-block entries [guard, guard + guards)
  // are not all zero.
  void adam_apply(int guard = 0, int guards = 0);
  void set_adam_state(const std::vector<T>& m, const std::vector<T>& v);
  void get_adam_state(std::vector<T>& m, std::vector<T>& v);

  // Scalars a step reads back in one download: a small double block in the backend's memory.
  double* scalars(int n);
  void download_scalars(double* host, int n);
  // Entries [at] of the scalar block: number of non-finite entries of x.
  void count_nonfinite(Index n, const T* x, int at);

  // Gradient statistics over the batched affine nodes (grad_stats.h), accumulated in the backend.
  void stats_begin(const GradStatsConfig& config);
  GradSnr stats_finish(const ParamStore<T>& params);

 private:
  struct NodeBufs {
    OpsBuffer<T> value, grad, aux;  // aux: a LinearConst's matrix; a DenseStack's z
    OpsBuffer<T> aux2, aux3;        // a DenseStack's h and dz
    std::vector<T> host;            // what was uploaded last (Input, Constant, LinearConst)
    Op host_op = Op::Sum;           // the op that uploaded it: node ids are reused by other ops across steps
    OpsBuffer<double> stats;
  };
  std::unique_ptr<BackendOps<T>> m_ops;
  long m_allocations = 0;
  Index m_n = 0;
  const ParamStore<T>* m_store = nullptr;
  OpsBuffer<T> m_values, m_grads, m_m, m_v, m_tmp;
  OpsBuffer<double> m_scalars, m_adam_scalars, m_s1, m_s2, m_r, m_sq;
  std::vector<std::vector<NodeBufs>> m_structures{1};  // node buffers per recording structure
  std::vector<NodeBufs>* m_nodes_ptr = &m_structures[0];
  std::vector<NodeBufs>& nodes() { return *m_nodes_ptr; }
  std::vector<OpsBuffer<T>> m_slots;
  std::vector<T> m_host_seed;
  // Statistics state
  bool m_stats_on = false;
  GradStatsConfig m_stats_config;
  Index m_stats_points = -1;
  std::vector<char> m_seen;

  template <class U>
  U* ensure(OpsBuffer<U>& b, std::size_t n);
  template <class U>
  void free_buffer(OpsBuffer<U>& b);
  // Uploads host data to b when it differs from `last`.
  void upload_if_changed(NodeBufs& nb, Op op, OpsBuffer<T>& b, const T* host, std::size_t n);
};

}  // namespace jetpinn
