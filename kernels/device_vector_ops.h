// DeviceVectorOps<T>: core/lbfgs_vectors.h's VectorOps (L-BFGS's vector algebra) on a CUDA device: vectors in the
// Context's pool, updates as kernels on its stream (computed in double, rounded once to T, as HostVectorOps),
// reductions by reduce.h's deterministic trees into one device double that is then downloaded (the reductions
// return to the host, so they wait for the stream). What DeviceOps::vector_ops() hands out. The Context must
// outlive it. Host-only header.
#pragma once
#include "device_context.h"
#include "lbfgs_vectors.h"

namespace jetpinn::cuda {

template <class T>
class DeviceVectorOps final : public VectorOps<T> {
 public:
  using Size = typename VectorOps<T>::Size;
  explicit DeviceVectorOps(Context& ctx);
  ~DeviceVectorOps() override;  // never throws
  DeviceVectorOps(const DeviceVectorOps&) = delete;
  DeviceVectorOps& operator=(const DeviceVectorOps&) = delete;

  T* allocate(Size n) override;  // zeroed (cudaMemsetAsync); nullptr for n = 0
  void release(T* p) noexcept override;
  void upload(Size n, const T* host, T* y) override;
  void download(Size n, const T* x, T* host) override;  // waits for the stream
  void copy(Size n, const T* x, T* y) override;         // x and y must not overlap unless equal
  void scale(Size n, double alpha, const T* x, T* y) override;
  void axpy(Size n, double alpha, const T* x, T* y) override;
  void sub(Size n, const T* a, const T* b, T* y) override;
  double dot(Size n, const T* a, const T* b) override;
  double asum(Size n, const T* x) override;
  double max_abs(Size n, const T* x) override;
  double max_abs_diff(Size n, const T* a, const T* b) override;
  bool all_finite(Size n, const T* x) override;

 private:
  double fetch();  // downloads m_scalar (waits)
  Context* m_ctx;
  double* m_scalar = nullptr;  // one device double the reductions write
};

}  // namespace jetpinn::cuda
