// The device side of a run: one CUDA device, one stream, one cuBLAS handle, and a caching memory pool.
// Host-only header (no CUDA types: the stream and handle are handed out as opaque pointers that the .cu files
// cast back), so tests and the core can hold a Context without CUDA headers. Everything is ordered on the one
// stream, which is what makes the pool's reuse of a freed block safe without events.
#pragma once
#include <cstddef>
#include <memory>

#include "pool_cache.h"

namespace jetpinn::cuda {

// float32 GEMMs: pedantic FP32 (cuBLAS CUBLAS_PEDANTIC_MATH: no TF32, no reduced-precision reductions) by
// default; TF32 tensor cores only when asked. TF32x3: error-compensated, each operand split into TF32 halves
// (tf32_split.h) and A B = A_hi B_hi + A_hi B_lo + A_lo B_hi as three TF32 tensor-core GEMMs with FP32
// accumulation: about FP32's accuracy (~1e-6 relative) at tensor-core speed. float64 GEMMs are always DGEMM.
enum class GemmMath { Pedantic, TF32, TF32x3 };

class Context;

// cudaMalloc behind a BlockCache (see pool_cache.h). Blocks are 256-byte aligned (cudaMalloc's guarantee).
class DevicePool {
 public:
  explicit DevicePool(int device);
  void* allocate(std::size_t bytes) { return m_cache.allocate(bytes); }
  void deallocate(void* p) { m_cache.deallocate(p); }
  void release_cached() { m_cache.release_cached(); }
  const BlockCache::Stats& stats() const { return m_cache.stats(); }

 private:
  BlockCache m_cache;
};

class Context {
 public:
  // Selects `device`, creates the stream and the cuBLAS handle (math mode `math`, stream-bound, workspace
  // from the pool). Throws jetpinn::Error when there is no such device.
  explicit Context(int device = 0, GemmMath math = GemmMath::Pedantic);
  ~Context();  // logs, never throws
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return m_device; }
  GemmMath math() const { return m_math; }
  void set_math(GemmMath math);
  DevicePool& pool() { return *m_pool; }
  void synchronize();  // waits for the stream; throws on an asynchronous error

  void* stream() const { return m_stream; }  // cudaStream_t
  void* blas() const { return m_blas; }      // cublasHandle_t

  // Reusable device scratch of at least `bytes` (grows, never shrinks; valid until the next call). For kernels
  // that need partials; one user at a time, in stream order.
  void* scratch(std::size_t bytes);
  // A second reusable device area for the TF32x3 operand split (blas.cu): GEMM operands and results may live in
  // scratch(), so the split cannot. Same rules as scratch().
  void* gemm_scratch(std::size_t bytes);

  // Pinned (cudaHostAlloc) host memory for per-step scalars (learning rate, step count): a captured
  // cudaMemcpyAsync from it reads the value current at each graph replay (see step_graph.h), which a host
  // scalar passed by value to a launcher cannot. At least `bytes`, zero-initialised when first made; it
  // grows (waiting for the stream, copying the old contents) and never shrinks, so size it before capturing.
  void* pinned_bytes(std::size_t bytes);
  template <class T>
  T* pinned_scalars(std::size_t n) {
    return static_cast<T*>(pinned_bytes(n * sizeof(T)));
  }

 private:
  int m_device = 0;
  GemmMath m_math = GemmMath::Pedantic;
  void* m_stream = nullptr;
  void* m_blas = nullptr;
  std::unique_ptr<DevicePool> m_pool;
  void* m_blas_workspace = nullptr;
  void* m_scratch = nullptr;
  std::size_t m_scratch_bytes = 0;
  void* m_gemm_scratch = nullptr;
  std::size_t m_gemm_scratch_bytes = 0;
  void* m_pinned = nullptr;
  std::size_t m_pinned_bytes = 0;
};

}  // namespace jetpinn::cuda
