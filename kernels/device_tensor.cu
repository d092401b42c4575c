// DeviceTensor<T> (see device_tensor.h).
#include <cstdio>

#include "cuda_check.h"
#include "device_tensor.h"

namespace jetpinn::cuda {

template <class T>
DeviceTensor<T>::~DeviceTensor() {
  if (!m_data) return;
  try {
    m_ctx->pool().deallocate(m_data);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jetpinn: DeviceTensor: %s\n", e.what());
  }
}

template <class T>
void DeviceTensor<T>::resize(std::ptrdiff_t rows, std::ptrdiff_t cols) {
  JETPINN_CHECK(m_ctx, "DeviceTensor::resize on a tensor without a Context");
  JETPINN_CHECK(rows >= 0 && cols >= 0, "device tensor shape must be non-negative, got (" << rows << " x " << cols << ")");
  const std::size_t n = static_cast<std::size_t>(rows * cols);
  if (n > m_capacity) {
    m_ctx->pool().deallocate(m_data);
    m_data = nullptr;
    m_capacity = 0;
    m_data = static_cast<T*>(m_ctx->pool().allocate(n * sizeof(T)));
    m_capacity = n;
  }
  m_rows = rows;
  m_cols = cols;
}

template <class T>
void DeviceTensor<T>::set_zero() {
  if (size() == 0) return;
  CUDA_CHECK(cudaMemsetAsync(m_data, 0, static_cast<std::size_t>(size()) * sizeof(T),
                             static_cast<cudaStream_t>(m_ctx->stream())));
}

template <class T>
void DeviceTensor<T>::upload_raw(const T* host) {
  if (size() == 0) return;
  cudaStream_t s = static_cast<cudaStream_t>(m_ctx->stream());
  CUDA_CHECK(cudaMemcpyAsync(m_data, host, static_cast<std::size_t>(size()) * sizeof(T), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));  // the host buffer may go away as soon as we return
}

template <class T>
void DeviceTensor<T>::download_raw(T* host) const {
  if (size() == 0) return;
  cudaStream_t s = static_cast<cudaStream_t>(m_ctx->stream());
  CUDA_CHECK(cudaMemcpyAsync(host, m_data, static_cast<std::size_t>(size()) * sizeof(T), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
}

template class DeviceTensor<float>;
template class DeviceTensor<double>;

}  // namespace jetpinn::cuda
