// VectorOps<T>: every operation Lbfgs<T> performs on n-vectors, so that its vectors can live in host or device
// memory (kernels/lbfgs_device.h) while the scalars (dots, norms, step lengths) stay on the host.
// All pointers handed to one VectorOps live in its memory. Each operation is specified by the exact host
// arithmetic (HostVectorOps below; a device backend matches it up to the order of its sums): reductions
// accumulate in double, elementwise updates compute in double and round once to T, except sub, which is T - T.
// Free of Eigen and of CUDA, so .cu files (C++17) can include it.
#pragma once
#include <cstddef>
#include <utility>

namespace jetpinn {

template <class T>
class VectorOps {
 public:
  using Size = std::ptrdiff_t;
  virtual ~VectorOps() = default;

  virtual T* allocate(Size n) = 0;            // n entries, all zero (any pointer, even nullptr, for n = 0)
  virtual void release(T* p) noexcept = 0;    // p from allocate(), or nullptr
  virtual void upload(Size n, const T* host, T* y) = 0;    // y = host[0..n) (host memory)
  virtual void download(Size n, const T* x, T* host) = 0;  // host[0..n) = x (host memory)

  virtual void copy(Size n, const T* x, T* y) = 0;                    // y = x
  virtual void scale(Size n, double alpha, const T* x, T* y) = 0;     // y = T(alpha x); x == y allowed
  virtual void axpy(Size n, double alpha, const T* x, T* y) = 0;      // y = T(y + alpha x)
  virtual void sub(Size n, const T* a, const T* b, T* y) = 0;         // y = a - b, in T arithmetic

  virtual double dot(Size n, const T* a, const T* b) = 0;             // sum a_i b_i
  virtual double asum(Size n, const T* x) = 0;                        // sum |x_i|
  virtual double max_abs(Size n, const T* x) = 0;                     // max(0, |x_i|), NaN entries skipped
  virtual double max_abs_diff(Size n, const T* a, const T* b) = 0;    // max(0, |a_i - b_i|) (in double)
  virtual bool all_finite(Size n, const T* x) = 0;                    // no NaN, no inf
};

// The host implementation: sequential loops in index order (the reductions' order is part of the contract:
// Lbfgs<T> on the host is reproducible bit for bit). Defined in lbfgs_vectors.cpp, for float and double.
template <class T>
class HostVectorOps final : public VectorOps<T> {
 public:
  using Size = typename VectorOps<T>::Size;
  T* allocate(Size n) override;
  void release(T* p) noexcept override;
  void upload(Size n, const T* host, T* y) override;
  void download(Size n, const T* x, T* host) override;
  void copy(Size n, const T* x, T* y) override;
  void scale(Size n, double alpha, const T* x, T* y) override;
  void axpy(Size n, double alpha, const T* x, T* y) override;
  void sub(Size n, const T* a, const T* b, T* y) override;
  double dot(Size n, const T* a, const T* b) override;
  double asum(Size n, const T* x) override;
  double max_abs(Size n, const T* x) override;
  double max_abs_diff(Size n, const T* a, const T* b) override;
  bool all_finite(Size n, const T* x) override;
};

// An owning handle: n entries allocated from ops, released on destruction. Move-only; ops must outlive it.
template <class T>
class VectorBuffer {
 public:
  VectorBuffer() = default;
  VectorBuffer(VectorOps<T>& ops, std::ptrdiff_t n) : m_ops(&ops), m_n(n), m_p(ops.allocate(n)) {}
  ~VectorBuffer() {
    if (m_ops) m_ops->release(m_p);
  }
  VectorBuffer(VectorBuffer&& o) noexcept
      : m_ops(std::exchange(o.m_ops, nullptr)), m_n(std::exchange(o.m_n, 0)), m_p(std::exchange(o.m_p, nullptr)) {}
  VectorBuffer& operator=(VectorBuffer&& o) noexcept {
    swap(o);
    return *this;
  }
  VectorBuffer(const VectorBuffer&) = delete;
  VectorBuffer& operator=(const VectorBuffer&) = delete;
  void swap(VectorBuffer& o) noexcept {
    std::swap(m_ops, o.m_ops);
    std::swap(m_n, o.m_n);
    std::swap(m_p, o.m_p);
  }
  friend void swap(VectorBuffer& a, VectorBuffer& b) noexcept { a.swap(b); }

  T* data() { return m_p; }
  const T* data() const { return m_p; }
  std::ptrdiff_t size() const { return m_n; }

 private:
  VectorOps<T>* m_ops = nullptr;
  std::ptrdiff_t m_n = 0;
  T* m_p = nullptr;
};

}  // namespace jetpinn
