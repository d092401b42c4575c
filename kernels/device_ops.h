// DeviceOps<T>: core/backend_ops.h's BackendOps on one CUDA device, so Backend<T> (core/backend.h) runs a whole
// training step there. Each primitive is a launcher of kernels/ on the Context's one stream (cuBLAS for the affine maps,
// jet_ops for the chain rules, rba_loss, reduce, batch_stats, adam_device); memory comes from the Context's
// caching pool. Reductions write device scalars (never the host), so a step can be captured in a CUDA graph;
// only download() and synchronize() wait. core/host_ops.h is the reference: same outputs, same accumulate-vs-
// overwrite, within float64 1e-12 / float32 1e-5 (tests/cuda/test_device_ops.cpp).
// Graphs: begin_capture ... end_capture records the queued work once; launch() replays it. Allocation, upload,
// download and synchronize refuse while capturing. The Context's scratch must not move between capture and
// replay: run a step eagerly once first (which grows it to size), or launch() refuses.
// Host-only header (no CUDA types).
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "backend_ops.h"
#include "device_context.h"
#include "jet_rules.h"

namespace jetpinn::cuda {

template <class T>
class DeviceOps final : public BackendOps<T> {
 public:
  using Idx = typename BackendOps<T>::Idx;

  // Owns a Context on `device` (throws jetpinn::Error when there is no such device).
  explicit DeviceOps(int device = 0, GemmMath math = GemmMath::Pedantic);
  // Runs on `ctx`, which must outlive these ops.
  explicit DeviceOps(Context& ctx);
  ~DeviceOps() override;  // logs, never throws
  DeviceOps(const DeviceOps&) = delete;
  DeviceOps& operator=(const DeviceOps&) = delete;

  Context& context() { return *m_ctx; }
  std::string name() const override { return m_name; }  // "cuda:0 NVIDIA H100 80GB HBM3, sm_90"

  void* allocate(std::size_t bytes) override;
  void release(void* p) override;
  void upload(void* dst, const void* host, std::size_t bytes) override;
  void download(void* host, const void* src, std::size_t bytes) override;
  void copy(void* dst, const void* src, std::size_t bytes) override;
  void synchronize() override;

  void fill(Idx n, T value, T* y) override;
  void axpy(Idx n, T alpha, const T* x, T* y) override;
  void scale(Idx n, T alpha, const T* x, T* y) override;
  void add(Idx n, const T* a, const T* b, T* y) override;
  void sub(Idx n, const T* a, const T* b, T* y) override;
  void add_constant(Idx n, T c, T* y) override;
  void add_broadcast(Idx n, const T* s, double factor, T* y) override;
  void sum(Idx n, const T* x, double factor, T* out) override;
  void copy_cols(Idx rows, Idx cols, const T* src, Idx src_ld, T* dst, Idx dst_ld, bool accumulate) override;
  void add_row_vector(Idx rows, Idx cols, const T* b, T* y) override;
  void accumulate_double(Idx n, const T* x, double* y) override;

  void affine_forward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* b, T* y) override;
  void affine_backward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* dy, T* dW, T* db,
                       T* dx) override;

  void unary_forward(const StreamSet& s, Activation a, int power, Idx n, const T* x, T* y) override;
  void unary_backward(const StreamSet& s, Activation a, int power, Idx n, const T* x, const T* y, const T* dy,
                      T* dx) override;
  void product_forward(const StreamSet& s, Idx n, const T* u, const T* v, T* y) override;
  void product_backward(const StreamSet& s, Idx n, const T* u, const T* v, const T* dy, T* du, T* dv) override;

  // The fused jet-MLP kernels (fused_mlp.h) where they take the shape; else the tape records layer by layer.
  bool dense_stack_supported(const DenseStack& d, const StreamSet& s) override;
  void dense_stack_forward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x, T* y, T* z,
                           T* h) override;
  void dense_stack_backward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x, const T* dy,
                            const T* z, const T* h, T* dz, T* dparams, T* dx) override;
  // fused_mlp_backward_stats (the G_b, or the per-sample norms, formed inside the fused sweep), widths <= 128,
  // B <= 256.
  bool dense_stack_stats_supported(const DenseStack& d, const StreamSet& s, int batches, bool per_sample) override;
  void dense_stack_backward_stats(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x,
                                  const T* dy, const T* z, const T* h, T* dz, const std::vector<Idx>& offsets,
                                  T* dparams, double* s1, double* s2, double* r, double* sample_sq, T* dx) override;

  void rba_mse_forward(Idx P, Idx k, const T* r, T* lambda, const RbaRule& rule, bool update, bool first,
                       bool weighted, T* out, double* stats) override;
  void rba_mse_backward(Idx P, Idx k, const T* r, const T* lambda, bool weighted, const T* dloss, T* dr) override;

  void adam(Idx n, const AdamStepScalars* s, const double* guard, int guards, T* p, const T* g, T* m,
            T* v) override;
  void count_nonfinite(Idx n, const T* x, double* out) override;
  void dot(Idx n, const T* x, const T* y, double* out) override;
  void max_abs(Idx n, const T* x, double* out) override;

  void affine_batch_stats(int S, Idx P, Idx in, Idx out, const T* dy, const T* a, const std::vector<Idx>& offsets,
                          T* G, double* s1, double* s2) override;
  void bias_batch_stats(Idx P, Idx out, const T* dy, const std::vector<Idx>& offsets, T* G, double* s1,
                        double* s2) override;
  void per_sample_sq_norms(int S, Idx P, Idx in, Idx out, const T* dy, const T* a, double* acc) override;

  // A DeviceVectorOps (device_vector_ops.h) on this Context: these ops (or the Context) must outlive it.
  std::shared_ptr<VectorOps<T>> vector_ops() override;

  bool supports_capture() const override { return true; }
  void begin_capture() override;
  void end_capture() override;
  void launch() override;
  void reset_capture() override;
  bool replayable() const override;
  bool capturing() const;

 private:
  // A stream set's flat rules, built on first use. Looked up by address (the tape's nodes keep their stream
  // sets alive while ops on them are queued or captured) and used only if the set's chain-rule programs equal
  // the ones they were built from: an address reused by another set with the same shape rebuilds them.
  struct Rules {
    RuleProgram unary_source, product_source;
    FlatRules unary, product;
  };
  const Rules& rules_for(const StreamSet& s);
  void refuse_while_capturing(const char* what) const;

  std::unique_ptr<Context> m_owned;  // declared first: destroyed last
  Context* m_ctx = nullptr;
  std::string m_name;
  std::unordered_map<const StreamSet*, std::unique_ptr<Rules>> m_rules;
  struct Capture;  // a StepGraph and the scratch blocks its kernels use
  std::unique_ptr<Capture> m_capture;
};

// The device ops as the generic interface (what Backend<T> takes): DeviceOps<T> owning a Context.
template <class T>
std::unique_ptr<BackendOps<T>> make_device_ops(int device = 0, GemmMath math = GemmMath::Pedantic);

}  // namespace jetpinn::cuda
