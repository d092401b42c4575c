// Context and DevicePool (see device_context.h).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cuda_check.h"
#include "device_context.h"

namespace jetpinn::cuda {

namespace {
constexpr std::size_t BLAS_WORKSPACE_BYTES = std::size_t(32) << 20;  // cuBLAS's recommendation for Hopper

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
cublasHandle_t as_blas(void* h) { return static_cast<cublasHandle_t>(h); }
}  // namespace

DevicePool::DevicePool(int device)
    : m_cache(
          [device](std::size_t bytes) {
            void* p = nullptr;
            CUDA_CHECK(cudaSetDevice(device));
            CUDA_CHECK(cudaMalloc(&p, bytes));
            return p;
          },
          [](void* p) {
            const cudaError_t e = cudaFree(p);
            if (e != cudaSuccess) std::fprintf(stderr, "jetpinn: cudaFree failed: %s\n", cudaGetErrorString(e));
          }) {}

Context::Context(int device, GemmMath math) : m_device(device), m_math(math) {
  int n = 0;
  CUDA_CHECK(cudaGetDeviceCount(&n));
  JETPINN_CHECK(device >= 0 && device < n, "CUDA device " << device << " requested, " << n << " present");
  CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  m_stream = s;
  cublasHandle_t h = nullptr;
  CUBLAS_CHECK(cublasCreate(&h));
  m_blas = h;
  CUBLAS_CHECK(cublasSetStream(h, s));
  CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
  m_pool = std::make_unique<DevicePool>(device);
  // A workspace of our own, so cuBLAS never allocates inside a step.
  m_blas_workspace = m_pool->allocate(BLAS_WORKSPACE_BYTES);
  CUBLAS_CHECK(cublasSetWorkspace(h, m_blas_workspace, BLAS_WORKSPACE_BYTES));
  set_math(math);
}

Context::~Context() {
  // Destructors log, never throw.
  if (m_stream) {
    const cudaError_t e = cudaStreamSynchronize(as_stream(m_stream));
    if (e != cudaSuccess) std::fprintf(stderr, "jetpinn: stream error at shutdown: %s\n", cudaGetErrorString(e));
  }
  if (m_blas) {
    const cublasStatus_t s = cublasDestroy(as_blas(m_blas));
    if (s != CUBLAS_STATUS_SUCCESS) std::fprintf(stderr, "jetpinn: cublasDestroy: %s\n", cublasGetStatusString(s));
  }
  if (m_pool) {
    try {
      m_pool->deallocate(m_scratch);
      m_pool->deallocate(m_gemm_scratch);
      m_pool->deallocate(m_blas_workspace);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "jetpinn: %s\n", ex.what());
    }
    m_pool.reset();  // frees the cached blocks
  }
  if (m_pinned) {
    const cudaError_t e = cudaFreeHost(m_pinned);
    if (e != cudaSuccess) std::fprintf(stderr, "jetpinn: cudaFreeHost failed: %s\n", cudaGetErrorString(e));
  }
  if (m_stream) cudaStreamDestroy(as_stream(m_stream));
}

void Context::set_math(GemmMath math) {
  m_math = math;
  // TF32x3 issues its three products with CUBLAS_COMPUTE_32F_FAST_TF32 (blas.cu); the handle allows TF32 too, so
  // that no pedantic setting can override that compute type.
  CUBLAS_CHECK(cublasSetMathMode(as_blas(m_blas),
                                 math == GemmMath::Pedantic ? CUBLAS_PEDANTIC_MATH : CUBLAS_TF32_TENSOR_OP_MATH));
}

void Context::synchronize() { CUDA_CHECK(cudaStreamSynchronize(as_stream(m_stream))); }

void* Context::scratch(std::size_t bytes) {
  if (bytes > m_scratch_bytes) {
    m_pool->deallocate(m_scratch);  // stream order keeps earlier users of the old block safe
    m_scratch = m_pool->allocate(bytes);
    m_scratch_bytes = BlockCache::class_size(bytes);
  }
  return m_scratch;
}

void* Context::gemm_scratch(std::size_t bytes) {
  if (bytes > m_gemm_scratch_bytes) {
    m_pool->deallocate(m_gemm_scratch);
    m_gemm_scratch = m_pool->allocate(bytes);
    m_gemm_scratch_bytes = BlockCache::class_size(bytes);
  }
  return m_gemm_scratch;
}

void* Context::pinned_bytes(std::size_t bytes) {
  if (bytes > m_pinned_bytes) {
    const std::size_t grown = std::max<std::size_t>(bytes, 256);
    void* p = nullptr;
    CUDA_CHECK(cudaHostAlloc(&p, grown, cudaHostAllocDefault));
    std::memset(p, 0, grown);
    if (m_pinned) {
      synchronize();  // a copy in flight may still read the old area
      std::memcpy(p, m_pinned, m_pinned_bytes);
      CUDA_CHECK(cudaFreeHost(m_pinned));
    }
    m_pinned = p;
    m_pinned_bytes = grown;
  }
  return m_pinned;
}

}  // namespace jetpinn::cuda
