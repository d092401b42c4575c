// DeviceVectorOps<T> (see device_vector_ops.h). Plain C++ over the launchers.
#include "device_vector_ops.h"

#include <cstdio>

#include "cuda_check.h"
#include "elementwise.h"
#include "reduce.h"
#include "vector_ops.h"

namespace jetpinn::cuda {

namespace {
cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }
}  // namespace

template <class T>
DeviceVectorOps<T>::DeviceVectorOps(Context& ctx)
    : m_ctx(&ctx), m_scalar(static_cast<double*>(ctx.pool().allocate(sizeof(double)))) {}

template <class T>
DeviceVectorOps<T>::~DeviceVectorOps() {
  try {
    m_ctx->pool().deallocate(m_scalar);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jetpinn: DeviceVectorOps: %s\n", e.what());
  }
}

template <class T>
T* DeviceVectorOps<T>::allocate(Size n) {
  if (n <= 0) return nullptr;
  const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(n);
  T* p = static_cast<T*>(m_ctx->pool().allocate(bytes));
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_of(*m_ctx)));
  return p;
}
template <class T>
void DeviceVectorOps<T>::release(T* p) noexcept {
  try {
    m_ctx->pool().deallocate(p);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jetpinn: DeviceVectorOps::release: %s\n", e.what());
  }
}
template <class T>
void DeviceVectorOps<T>::upload(Size n, const T* host, T* y) {
  if (n <= 0) return;
  CUDA_CHECK(cudaMemcpyAsync(y, host, sizeof(T) * static_cast<std::size_t>(n), cudaMemcpyHostToDevice,
                             stream_of(*m_ctx)));
}
template <class T>
void DeviceVectorOps<T>::download(Size n, const T* x, T* host) {
  if (n <= 0) return;
  CUDA_CHECK(cudaMemcpyAsync(host, x, sizeof(T) * static_cast<std::size_t>(n), cudaMemcpyDeviceToHost,
                             stream_of(*m_ctx)));
  m_ctx->synchronize();
}
template <class T>
void DeviceVectorOps<T>::copy(Size n, const T* x, T* y) {
  if (n <= 0 || x == y) return;
  JETPINN_CHECK(x + n <= y || y + n <= x, "DeviceVectorOps::copy: overlapping vectors");
  CUDA_CHECK(cudaMemcpyAsync(y, x, sizeof(T) * static_cast<std::size_t>(n), cudaMemcpyDeviceToDevice,
                             stream_of(*m_ctx)));
}
template <class T>
void DeviceVectorOps<T>::scale(Size n, double alpha, const T* x, T* y) {
  scale_double<T>(*m_ctx, n, alpha, x, y);
}
template <class T>
void DeviceVectorOps<T>::axpy(Size n, double alpha, const T* x, T* y) {
  axpy_double<T>(*m_ctx, n, alpha, x, y);
}
template <class T>
void DeviceVectorOps<T>::sub(Size n, const T* a, const T* b, T* y) {
  cuda::sub<T>(*m_ctx, n, a, b, y);
}
template <class T>
double DeviceVectorOps<T>::fetch() {
  double v = 0;
  CUDA_CHECK(cudaMemcpyAsync(&v, m_scalar, sizeof(double), cudaMemcpyDeviceToHost, stream_of(*m_ctx)));
  m_ctx->synchronize();
  return v;
}
template <class T>
double DeviceVectorOps<T>::dot(Size n, const T* a, const T* b) {
  cuda::dot<T>(*m_ctx, n, a, b, m_scalar);
  return fetch();
}
template <class T>
double DeviceVectorOps<T>::asum(Size n, const T* x) {
  cuda::asum<T>(*m_ctx, n, x, m_scalar);
  return fetch();
}
template <class T>
double DeviceVectorOps<T>::max_abs(Size n, const T* x) {
  cuda::max_abs<T>(*m_ctx, n, x, m_scalar);
  return fetch();
}
template <class T>
double DeviceVectorOps<T>::max_abs_diff(Size n, const T* a, const T* b) {
  cuda::max_abs_diff<T>(*m_ctx, n, a, b, m_scalar);
  return fetch();
}
template <class T>
bool DeviceVectorOps<T>::all_finite(Size n, const T* x) {
  cuda::count_nonfinite<T>(*m_ctx, n, x, m_scalar);
  return fetch() == 0.0;
}

template class DeviceVectorOps<float>;
template class DeviceVectorOps<double>;

}  // namespace jetpinn::cuda
