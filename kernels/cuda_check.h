// CUDA_CHECK / CUBLAS_CHECK / CUDA_CHECK_LAUNCH: turn a failed CUDA runtime or cuBLAS call into a jetpinn::Error
// naming the call, the error and file:line. For .cu files of the backend only (includes the CUDA headers).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "check.h"

namespace jetpinn::cuda::detail {
[[noreturn]] inline void cuda_fail(cudaError_t e, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so the next call does not report it again
  ::jetpinn::detail::fail(file, line, std::string(call) + " failed: " + cudaGetErrorName(e) + " (" +
                                          cudaGetErrorString(e) + ")");
}
[[noreturn]] inline void cublas_fail(cublasStatus_t s, const char* call, const char* file, int line) {
  ::jetpinn::detail::fail(file, line, std::string(call) + " failed: " + cublasGetStatusName(s) + " (" +
                                          cublasGetStatusString(s) + ")");
}
}  // namespace jetpinn::cuda::detail

#define CUDA_CHECK(call)                                                                       \
  do {                                                                                         \
    const cudaError_t jetpinn_e_ = (call);                                                     \
    if (jetpinn_e_ != cudaSuccess) ::jetpinn::cuda::detail::cuda_fail(jetpinn_e_, #call, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(call)                                                                       \
  do {                                                                                           \
    const cublasStatus_t jetpinn_s_ = (call);                                                    \
    if (jetpinn_s_ != CUBLAS_STATUS_SUCCESS)                                                     \
      ::jetpinn::cuda::detail::cublas_fail(jetpinn_s_, #call, __FILE__, __LINE__);               \
  } while (0)

// After every kernel launch, inside its launcher: a bad configuration shows up here, naming the kernel.
#define CUDA_CHECK_LAUNCH(kernel_name)                                                              \
  do {                                                                                              \
    const cudaError_t jetpinn_e_ = cudaGetLastError();                                              \
    if (jetpinn_e_ != cudaSuccess)                                                                  \
      ::jetpinn::cuda::detail::cuda_fail(jetpinn_e_, "launch of " kernel_name, __FILE__, __LINE__); \
  } while (0)
