// Jet chain-rule kernels (see jet_ops.h): each thread applies the per-element rules of jet_rules.h (the same
// code the host tests run against core/jet_kernels_cpu.cpp) to one element, reading its S streams strided by n.
// Reads are coalesced per stream (consecutive threads, consecutive elements).
#include "cuda_check.h"
#include "launch.h"
#include "jet_ops.h"

namespace jetpinn::cuda {

namespace {
constexpr int THREADS = 256;

int blocks_for(std::ptrdiff_t n) {
  const std::ptrdiff_t b = (n + THREADS - 1) / THREADS;
  JETPINN_CHECK(b <= 0x7fffffff, "jet kernel: " << n << " elements exceed one grid");
  return static_cast<int>(b);
}

template <class T>
__global__ void unary_jet_forward_kernel(const __grid_constant__ FlatRules rules, Activation a, int power,
                                         std::ptrdiff_t n, const T* __restrict__ x, T* __restrict__ y) {
  const std::ptrdiff_t e = static_cast<std::ptrdiff_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  unary_jet_element_forward<T>(rules, a, power, x + e, n, y + e);
}

template <class T>
__global__ void unary_jet_backward_kernel(const __grid_constant__ FlatRules rules, Activation a, int power,
                                          std::ptrdiff_t n, const T* __restrict__ x, const T* __restrict__ y,
                                          const T* __restrict__ dy, T* __restrict__ dx) {
  const std::ptrdiff_t e = static_cast<std::ptrdiff_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  unary_jet_element_backward<T>(rules, a, power, x + e, y ? y + e : nullptr, dy + e, n, dx + e);
}

template <class T>
__global__ void product_jet_forward_kernel(const __grid_constant__ FlatRules rules, std::ptrdiff_t n,
                                           const T* __restrict__ u, const T* __restrict__ v, T* __restrict__ y) {
  const std::ptrdiff_t e = static_cast<std::ptrdiff_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  product_jet_element_forward<T>(rules, u + e, v + e, n, y + e);
}

// du and dv may alias u's and v's adjoints of one node (y = u * u): each thread touches only element e.
template <class T>
__global__ void product_jet_backward_kernel(const __grid_constant__ FlatRules rules, std::ptrdiff_t n, const T* u,
                                            const T* v, const T* dy, T* du, T* dv) {
  const std::ptrdiff_t e = static_cast<std::ptrdiff_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  product_jet_element_backward<T>(rules, u + e, v + e, dy + e, n, du ? du + e : nullptr, dv ? dv + e : nullptr);
}

cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }
}  // namespace

template <class T>
void unary_jet_forward(Context& ctx, const FlatRules& rules, Activation a, int power, std::ptrdiff_t n, const T* x,
                       T* y) {
  JETPINN_CHECK(x != y, "unary_jet_forward: x and y must be different buffers");
  if (n == 0) return;
  JETPINN_LAUNCH(unary_jet_forward_kernel<T>, blocks_for(n), THREADS, 0, stream_of(ctx))(rules, a, power, n, x, y);
  CUDA_CHECK_LAUNCH("unary_jet_forward_kernel");
}

template <class T>
void unary_jet_backward(Context& ctx, const FlatRules& rules, Activation a, int power, std::ptrdiff_t n, const T* x,
                        const T* y, const T* dy, T* dx) {
  if (n == 0 || !dx) return;
  JETPINN_LAUNCH(unary_jet_backward_kernel<T>, blocks_for(n), THREADS, 0, stream_of(ctx))(rules, a, power, n, x, y, dy, dx);
  CUDA_CHECK_LAUNCH("unary_jet_backward_kernel");
}

template <class T>
void product_jet_forward(Context& ctx, const FlatRules& rules, std::ptrdiff_t n, const T* u, const T* v, T* y) {
  JETPINN_CHECK(y != u && y != v, "product_jet_forward: y must not alias an input");
  if (n == 0) return;
  JETPINN_LAUNCH(product_jet_forward_kernel<T>, blocks_for(n), THREADS, 0, stream_of(ctx))(rules, n, u, v, y);
  CUDA_CHECK_LAUNCH("product_jet_forward_kernel");
}

template <class T>
void product_jet_backward(Context& ctx, const FlatRules& rules, std::ptrdiff_t n, const T* u, const T* v, const T* dy,
                          T* du, T* dv) {
  if (n == 0 || (!du && !dv)) return;
  JETPINN_LAUNCH(product_jet_backward_kernel<T>, blocks_for(n), THREADS, 0, stream_of(ctx))(rules, n, u, v, dy, du, dv);
  CUDA_CHECK_LAUNCH("product_jet_backward_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                                                     \
  template void unary_jet_forward<T>(Context&, const FlatRules&, Activation, int, std::ptrdiff_t, const T*, T*);  \
  template void unary_jet_backward<T>(Context&, const FlatRules&, Activation, int, std::ptrdiff_t, const T*,      \
                                      const T*, const T*, T*);                                                     \
  template void product_jet_forward<T>(Context&, const FlatRules&, std::ptrdiff_t, const T*, const T*, T*);       \
  template void product_jet_backward<T>(Context&, const FlatRules&, std::ptrdiff_t, const T*, const T*, const T*, \
                                        T*, T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
