// Small elementwise launchers (see vector_ops.h). Grid-stride loops.
#include <algorithm>

#include "cuda_check.h"
#include "launch.h"
#include "vector_ops.h"

namespace jetpinn::cuda {

namespace {
constexpr int THREADS = 256;

cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }
int grid_for(std::ptrdiff_t n) {
  return static_cast<int>(std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>((n + THREADS - 1) / THREADS, 65535)));
}

#define JETPINN_GRID_STRIDE(i, n)                                                                  \
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < (n); \
       i += std::ptrdiff_t(gridDim.x) * blockDim.x)

template <class T>
__global__ void add_constant_kernel(std::ptrdiff_t n, T c, T* __restrict__ y) {
  JETPINN_GRID_STRIDE(i, n) y[i] += c;
}
template <class T>
__global__ void add_broadcast_kernel(std::ptrdiff_t n, const T* __restrict__ s, double factor, T* __restrict__ y) {
  const T v = static_cast<T>(factor * static_cast<double>(s[0]));  // as HostOps: the product in double, then T
  JETPINN_GRID_STRIDE(i, n) y[i] += v;
}
// Flat index i over rows x cols; one division per entry (these blocks are small: loss terms, stream slices).
template <class T>
__global__ void accumulate_cols_kernel(std::ptrdiff_t rows, std::ptrdiff_t cols, const T* src,
                                       std::ptrdiff_t src_ld, T* dst, std::ptrdiff_t dst_ld) {  // may alias: no __restrict__
  JETPINN_GRID_STRIDE(i, rows * cols) {
    const std::ptrdiff_t r = i / cols, c = i - r * cols;
    dst[r * dst_ld + c] += src[r * src_ld + c];
  }
}
template <class T>
__global__ void accumulate_double_kernel(std::ptrdiff_t n, const T* __restrict__ x, double* __restrict__ y) {
  JETPINN_GRID_STRIDE(i, n) y[i] += static_cast<double>(x[i]);
}
template <class T>
__global__ void scale_double_kernel(std::ptrdiff_t n, double alpha, const T* x, T* y) {  // x == y allowed
  JETPINN_GRID_STRIDE(i, n) y[i] = static_cast<T>(alpha * static_cast<double>(x[i]));
}
template <class T>
__global__ void axpy_double_kernel(std::ptrdiff_t n, double alpha, const T* x, T* y) {
  JETPINN_GRID_STRIDE(i, n) y[i] = static_cast<T>(static_cast<double>(y[i]) + alpha * static_cast<double>(x[i]));
}
#undef JETPINN_GRID_STRIDE
}  // namespace

template <class T>
void add_constant(Context& ctx, std::ptrdiff_t n, T c, T* y) {
  if (n <= 0) return;
  JETPINN_LAUNCH(add_constant_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, c, y);
  CUDA_CHECK_LAUNCH("add_constant_kernel");
}
template <class T>
void add_broadcast(Context& ctx, std::ptrdiff_t n, const T* s, double factor, T* y) {
  if (n <= 0) return;
  JETPINN_LAUNCH(add_broadcast_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, s, factor, y);
  CUDA_CHECK_LAUNCH("add_broadcast_kernel");
}
template <class T>
void copy_cols(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols, const T* src, std::ptrdiff_t src_ld, T* dst,
               std::ptrdiff_t dst_ld, bool accumulate) {
  if (rows <= 0 || cols <= 0) return;
  JETPINN_CHECK(rows == 1 || (src_ld >= cols && dst_ld >= cols),
                "copy_cols: leading dimensions (" << src_ld << ", " << dst_ld << ") must be >= the " << cols
                                                  << " columns copied");
  if (accumulate) {
    JETPINN_LAUNCH(accumulate_cols_kernel<T>, grid_for(rows * cols), THREADS, 0, stream_of(ctx))(rows, cols, src, src_ld, dst,
                                                                                      dst_ld);
    CUDA_CHECK_LAUNCH("accumulate_cols_kernel");
  } else if (rows == 1) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, sizeof(T) * static_cast<std::size_t>(cols), cudaMemcpyDeviceToDevice,
                               stream_of(ctx)));
  } else {
    CUDA_CHECK(cudaMemcpy2DAsync(dst, sizeof(T) * static_cast<std::size_t>(dst_ld), src,
                                 sizeof(T) * static_cast<std::size_t>(src_ld), sizeof(T) * static_cast<std::size_t>(cols),
                                 static_cast<std::size_t>(rows), cudaMemcpyDeviceToDevice, stream_of(ctx)));
  }
}
template <class T>
void accumulate_double(Context& ctx, std::ptrdiff_t n, const T* x, double* y) {
  if (n <= 0) return;
  JETPINN_LAUNCH(accumulate_double_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, x, y);
  CUDA_CHECK_LAUNCH("accumulate_double_kernel");
}

template <class T>
void scale_double(Context& ctx, std::ptrdiff_t n, double alpha, const T* x, T* y) {
  if (n <= 0) return;
  JETPINN_LAUNCH(scale_double_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, alpha, x, y);
  CUDA_CHECK_LAUNCH("scale_double_kernel");
}
template <class T>
void axpy_double(Context& ctx, std::ptrdiff_t n, double alpha, const T* x, T* y) {
  if (n <= 0) return;
  JETPINN_LAUNCH(axpy_double_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, alpha, x, y);
  CUDA_CHECK_LAUNCH("axpy_double_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                                                     \
  template void add_constant<T>(Context&, std::ptrdiff_t, T, T*);                                                 \
  template void add_broadcast<T>(Context&, std::ptrdiff_t, const T*, double, T*);                                 \
  template void copy_cols<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*, std::ptrdiff_t, T*, std::ptrdiff_t, \
                             bool);                                                                                \
  template void accumulate_double<T>(Context&, std::ptrdiff_t, const T*, double*);                                \
  template void scale_double<T>(Context&, std::ptrdiff_t, double, const T*, T*);                                  \
  template void axpy_double<T>(Context&, std::ptrdiff_t, double, const T*, T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
