// DeviceTensor<T>: an owning row-major (rows x cols) float/double matrix in device memory from the Context's
// pool: the device twin of core/tensor.h's Tensor<T> (same shape rules: a jet of S streams over P points is
// S*P rows, stream-major). Host-only header. Copies are ordered on the Context's stream; upload and download
// wait for it (host buffers are pageable).
#pragma once
#include <cstddef>
#include <vector>

#include "device_context.h"

namespace jetpinn::cuda {

template <class T>
class DeviceTensor {
 public:
  DeviceTensor() = default;
  explicit DeviceTensor(Context& ctx) : m_ctx(&ctx) {}
  DeviceTensor(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols) : m_ctx(&ctx) { resize(rows, cols); }
  ~DeviceTensor();  // back to the pool; never throws
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;
  DeviceTensor(DeviceTensor&& o) noexcept { swap(o); }
  DeviceTensor& operator=(DeviceTensor&& o) noexcept {
    swap(o);
    return *this;
  }

  // Keeps the block when it is large enough (contents are then undefined), like Tensor::resize.
  void resize(std::ptrdiff_t rows, std::ptrdiff_t cols);
  void set_zero();  // cudaMemsetAsync on the stream

  std::ptrdiff_t rows() const { return m_rows; }
  std::ptrdiff_t cols() const { return m_cols; }
  std::ptrdiff_t size() const { return m_rows * m_cols; }
  T* data() { return m_data; }
  const T* data() const { return m_data; }
  Context& context() const { return *m_ctx; }

  // Raw copies of size() entries; the host side is row-major.
  void upload_raw(const T* host);
  void download_raw(T* host) const;

  // Any host matrix with rows(), cols(), data() and row-major storage (Tensor<T>, RowMat<T>).
  template <class H>
  void upload(const H& h) {
    resize(static_cast<std::ptrdiff_t>(h.rows()), static_cast<std::ptrdiff_t>(h.cols()));
    upload_raw(h.data());
  }
  template <class H>
  void download(H& h) const {
    h.resize(m_rows, m_cols);
    download_raw(h.data());
  }
  std::vector<T> to_host() const {
    std::vector<T> v(static_cast<std::size_t>(size()));
    download_raw(v.data());
    return v;
  }

 private:
  Context* m_ctx = nullptr;
  T* m_data = nullptr;
  std::ptrdiff_t m_rows = 0, m_cols = 0;
  std::size_t m_capacity = 0;  // entries
  void swap(DeviceTensor& o) noexcept {
    std::swap(m_ctx, o.m_ctx);
    std::swap(m_data, o.m_data);
    std::swap(m_rows, o.m_rows);
    std::swap(m_cols, o.m_cols);
    std::swap(m_capacity, o.m_capacity);
  }
};

}  // namespace jetpinn::cuda
