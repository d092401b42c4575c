// The device side of a run: one CUDA device, one stream, one cuBLAS handle, and a caching memory pool.
// Host-only header (no CUDA types: the stream and handle are handed out as opaque pointers that the .cu files
// cast back), so tests and the core can hold a Context without CUDA headers. Everything is ordered on the one
// stream, which is what makes the pool's reuse of a freed block safe without events.
// Compiled with nvcc; not yet run on a device (no GPU was available when this was written).
#pragma once
#include <cstddef>
#include <memory>

#include "pool_cache.h"

namespace jetpinn::cuda {

// float32 GEMMs: pedantic FP32 (cuBLAS CUBLAS_PEDANTIC_MATH: no TF32, no reduced-precision reductions) by
// default; TF32 tensor cores only when asked. float64 GEMMs are always DGEMM.
enum class GemmMath { Pedantic, TF32 };

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

 private:
  int m_device = 0;
  GemmMath m_math = GemmMath::Pedantic;
  void* m_stream = nullptr;
  void* m_blas = nullptr;
  std::unique_ptr<DevicePool> m_pool;
  void* m_blas_workspace = nullptr;
  void* m_scratch = nullptr;
  std::size_t m_scratch_bytes = 0;
};

}  // namespace jetpinn::cuda
