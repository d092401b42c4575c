// The emulated kernel launch: what `kernel<<<grid, block, smem, stream>>>(args...)` is under nvcc
// (kernels/launch.h picks one). The arguments are converted to the kernel's parameter types and copied at the
// launch, as the runtime copies them into the parameter buffer; every emulated thread calls the kernel with
// its own copy. Execution: kernels/emu/scheduler.cpp.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime.h"

namespace jetpinn::emu {

struct LaunchConfig {
  const void* func = nullptr;   // the kernel's address (cudaFuncSetAttribute's key)
  const char* name = "";        // as written at the launch site
  dim3 grid, block;
  std::size_t smem = 0;         // dynamic shared bytes
  cudaStream_t stream = nullptr;
  std::size_t param_bytes = 0;  // the parameter buffer's size, for the 32,764-byte limit
};

// Checks the configuration (a bad one sets the error cudaGetLastError returns, as the runtime does), then
// enqueues the grid on the stream: every thread of every block runs `thread_body`.
void launch(const LaunchConfig& config, std::function<void()> thread_body);

// Sum of the parameter sizes with each parameter aligned to its own alignment (the parameter buffer's layout).
template <class... P>
constexpr std::size_t param_buffer_bytes() {
  std::size_t offset = 0;
  ((offset = (offset + alignof(P) - 1) / alignof(P) * alignof(P) + sizeof(P)), ...);
  return offset;
}

}  // namespace jetpinn::emu

// The dynamic shared memory of the running block (`extern __shared__ T name[]` under nvcc).
#define JETPINN_DYNAMIC_SHARED(type, name, align) type* const name = reinterpret_cast<type*>(::jetpinn::emu::dynamic_shared())

namespace jetpinn::cuda {

template <class... P>
class Launch {
 public:
  Launch(void (*kernel)(P...), const char* name, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream)
      : m_kernel(kernel), m_config{reinterpret_cast<const void*>(kernel), name, grid, block, smem, stream,
                                   ::jetpinn::emu::param_buffer_bytes<std::decay_t<P>...>()} {}
  template <class... A>
  void operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    auto params = std::make_shared<std::tuple<std::decay_t<P>...>>(std::forward<A>(args)...);
    void (*kernel)(P...) = m_kernel;
    ::jetpinn::emu::launch(m_config, [kernel, params] { std::apply(kernel, *params); });
  }

 private:
  void (*m_kernel)(P...);
  ::jetpinn::emu::LaunchConfig m_config;
};

}  // namespace jetpinn::cuda
