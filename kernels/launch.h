// One way to launch a kernel, on a GPU and on the emulated device:
//   JETPINN_LAUNCH(kernel, grid, block, smem_bytes, stream)(args...);
// is `kernel<<<grid, block, smem_bytes, stream>>>(args...)` under nvcc, and the emulator's launcher in the
// -DJETPINN_CUDA=EMULATE build (kernels/emu/launch.h). JETPINN_DYNAMIC_SHARED(type, name, align) declares the
// block's dynamic shared memory (`extern __shared__ __align__(align) type name[]`). For .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#if defined(JETPINN_CUDA_EMULATED)
#include "emu/launch.h"
#else
#define JETPINN_DYNAMIC_SHARED(type, name, align) extern __shared__ __align__(align) type name[]

namespace jetpinn::cuda {
template <class... P>
class Launch {
 public:
  Launch(void (*kernel)(P...), const char*, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream)
      : m_kernel(kernel), m_grid(grid), m_block(block), m_smem(smem), m_stream(stream) {}
  template <class... A>
  void operator()(A&&... args) const {
    m_kernel<<<m_grid, m_block, m_smem, m_stream>>>(std::forward<A>(args)...);
  }

 private:
  void (*m_kernel)(P...);
  dim3 m_grid, m_block;
  std::size_t m_smem;
  cudaStream_t m_stream;
};
}  // namespace jetpinn::cuda
#endif

#define JETPINN_LAUNCH(kernel, grid, block, smem, stream) \
  ::jetpinn::cuda::Launch((kernel), #kernel, dim3(grid), dim3(block), (smem), (stream))
