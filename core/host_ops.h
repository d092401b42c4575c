// HostOps<T>: BackendOps on host memory, the CPU reference of the device backend (kernels/device_ops.h) and what
// the test suite runs Backend<T> (backend.h) on everywhere. Products go through Eigen (as core/tape.cpp), jet
// rules through core/jet_kernels_cpu, reductions accumulate in double in index order.
// CUDA-graph emulation: between begin_capture and end_capture every primitive is recorded (its arguments by
// value) instead of run, and launch() runs the record, so a step that would only work eagerly (one that reads
// host state inside the captured region) fails these tests as it would fail on the device.
#pragma once
#include <functional>
#include <vector>

#include "backend_ops.h"

namespace jetpinn {

template <class T>
class HostOps final : public BackendOps<T> {
 public:
  using Idx = typename BackendOps<T>::Idx;
  std::string name() const override { return "cpu"; }

  void* allocate(std::size_t bytes) override;
  void release(void* p) override;
  void upload(void* dst, const void* host, std::size_t bytes) override;
  void download(void* host, const void* src, std::size_t bytes) override;
  void copy(void* dst, const void* src, std::size_t bytes) override;
  void synchronize() override {}

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

  bool dense_stack_supported(const DenseStack&, const StreamSet&) override { return true; }
  void dense_stack_forward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x, T* y, T* z,
                           T* h) override;
  void dense_stack_backward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x, const T* dy,
                            const T* z, const T* h, T* dz, T* dparams, T* dx) override;

  bool dense_stack_stats_supported(const DenseStack&, const StreamSet&, int, bool) override { return true; }
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

  std::shared_ptr<VectorOps<T>> vector_ops() override { return std::make_shared<HostVectorOps<T>>(); }

  bool supports_capture() const override { return true; }
  void begin_capture() override;
  void end_capture() override;
  void launch() override;
  void reset_capture() override;
  bool replayable() const override { return !m_capturing && !m_graph.empty(); }
  bool capturing() const { return m_capturing; }

 private:
  bool m_capturing = false;
  std::vector<std::function<void()>> m_record, m_graph;
  // Runs f now, or records it while capturing.
  template <class F>
  void run(F&& f) {
    if (m_capturing) m_record.emplace_back(std::forward<F>(f));
    else f();
  }
};

}  // namespace jetpinn
