// Elementwise ops and deterministic reductions (see elementwise.h). Grid-stride loops; reductions are two
// kernels: per-block partials (fixed block count for a given size), then one block combines them in order.
#include <algorithm>

#include "cuda_check.h"
#include "launch.h"
#include "elementwise.h"
#include "reduce_common.cuh"

namespace jetpinn::cuda {

namespace {
constexpr int THREADS = 256;
constexpr int MAX_BLOCKS = 1024;

cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }
int grid_for(std::ptrdiff_t n) {
  return static_cast<int>(std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>((n + THREADS - 1) / THREADS, 65535)));
}

enum class Bin { Add, Sub, Mul };

template <class T>
__global__ void fill_kernel(std::ptrdiff_t n, T value, T* y) {
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n; i += std::ptrdiff_t(gridDim.x) * blockDim.x)
    y[i] = value;
}
// y = alpha x + beta y (beta 0 or 1 here; beta 0 never reads y).
template <class T>
__global__ void axpby_kernel(std::ptrdiff_t n, T alpha, const T* x, T beta, T* y) {
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n; i += std::ptrdiff_t(gridDim.x) * blockDim.x)
    y[i] = beta == T(0) ? alpha * x[i] : alpha * x[i] + beta * y[i];
}
template <class T, Bin OP>
__global__ void binary_kernel(std::ptrdiff_t n, const T* a, const T* b, T* y) {
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n; i += std::ptrdiff_t(gridDim.x) * blockDim.x) {
    if (OP == Bin::Add) y[i] = a[i] + b[i];
    if (OP == Bin::Sub) y[i] = a[i] - b[i];
    if (OP == Bin::Mul) y[i] = a[i] * b[i];
  }
}
template <class T>
__global__ void add_row_vector_kernel(std::ptrdiff_t rows, std::ptrdiff_t cols, const T* b, T* y) {
  const std::ptrdiff_t n = rows * cols;
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n; i += std::ptrdiff_t(gridDim.x) * blockDim.x)
    y[i] += b[i % cols];
}

// Block-wide sum of one double per thread (blockDim.x == THREADS): reduce_common.cuh's tree, whose trailing
// barrier makes a second call in the same kernel safe.
__device__ double block_sum(double v) {
  __shared__ double s[THREADS];
  return reduce_detail::block_combine<reduce_detail::Combine::Sum>(v, s);
}

template <class T>
__global__ void sum_partials_kernel(std::ptrdiff_t n, const T* x, double* partial) {
  double acc = 0;
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n; i += std::ptrdiff_t(gridDim.x) * blockDim.x)
    acc += static_cast<double>(x[i]);
  const double s = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
template <class T>
__global__ void sum_finish_kernel(int parts, const double* partial, double factor, T* out) {
  double acc = 0;
  for (int i = threadIdx.x; i < parts; i += blockDim.x) acc += partial[i];
  const double s = block_sum(acc);
  if (threadIdx.x == 0) out[0] = static_cast<T>(s * factor);
}

// Column sums, stage 1: block (32 x 8) sums column bx*32 + tx over its row chunk; partial[by][c].
constexpr int CS_X = 32, CS_Y = 8;
template <class T>
__global__ void colsum_partials_kernel(std::ptrdiff_t rows, std::ptrdiff_t cols, std::ptrdiff_t chunk, const T* x,
                                       double* partial) {
  __shared__ double s[CS_Y][CS_X];
  const std::ptrdiff_t c = std::ptrdiff_t(blockIdx.x) * CS_X + threadIdx.x;
  const std::ptrdiff_t r0 = std::ptrdiff_t(blockIdx.y) * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
  double acc = 0;
  if (c < cols)
    for (std::ptrdiff_t r = r0 + threadIdx.y; r < r1; r += CS_Y) acc += static_cast<double>(x[r * cols + c]);
  s[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    double t = 0;
    for (int k = 0; k < CS_Y; ++k) t += s[k][threadIdx.x];
    partial[std::ptrdiff_t(blockIdx.y) * cols + c] = t;
  }
}
template <class T>
__global__ void colsum_finish_kernel(std::ptrdiff_t cols, int parts, const double* partial, T* out) {
  const std::ptrdiff_t c = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  double t = 0;
  for (int p = 0; p < parts; ++p) t += partial[std::ptrdiff_t(p) * cols + c];
  out[c] = static_cast<T>(static_cast<double>(out[c]) + t);
}
}  // namespace

template <class T>
void fill(Context& ctx, std::ptrdiff_t n, T value, T* y) {
  if (n == 0) return;
  JETPINN_LAUNCH(fill_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, value, y);
  CUDA_CHECK_LAUNCH("fill_kernel");
}
template <class T>
void axpy(Context& ctx, std::ptrdiff_t n, T alpha, const T* x, T* y) {
  if (n == 0) return;
  JETPINN_LAUNCH(axpby_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, alpha, x, T(1), y);
  CUDA_CHECK_LAUNCH("axpby_kernel");
}
template <class T>
void scale(Context& ctx, std::ptrdiff_t n, T alpha, const T* x, T* y) {
  if (n == 0) return;
  JETPINN_LAUNCH(axpby_kernel<T>, grid_for(n), THREADS, 0, stream_of(ctx))(n, alpha, x, T(0), y);
  CUDA_CHECK_LAUNCH("axpby_kernel");
}
template <class T>
void add(Context& ctx, std::ptrdiff_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  JETPINN_LAUNCH((binary_kernel<T, Bin::Add>), grid_for(n), THREADS, 0, stream_of(ctx))(n, a, b, y);
  CUDA_CHECK_LAUNCH("binary_kernel<add>");
}
template <class T>
void sub(Context& ctx, std::ptrdiff_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  JETPINN_LAUNCH((binary_kernel<T, Bin::Sub>), grid_for(n), THREADS, 0, stream_of(ctx))(n, a, b, y);
  CUDA_CHECK_LAUNCH("binary_kernel<sub>");
}
template <class T>
void mul(Context& ctx, std::ptrdiff_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  JETPINN_LAUNCH((binary_kernel<T, Bin::Mul>), grid_for(n), THREADS, 0, stream_of(ctx))(n, a, b, y);
  CUDA_CHECK_LAUNCH("binary_kernel<mul>");
}
template <class T>
void add_row_vector(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols, const T* b, T* y) {
  if (rows * cols == 0) return;
  JETPINN_LAUNCH(add_row_vector_kernel<T>, grid_for(rows * cols), THREADS, 0, stream_of(ctx))(rows, cols, b, y);
  CUDA_CHECK_LAUNCH("add_row_vector_kernel");
}

namespace {
template <class T>
void reduce_all(Context& ctx, std::ptrdiff_t n, const T* x, double factor, T* out) {
  const int parts = static_cast<int>(std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>(MAX_BLOCKS, (n + THREADS - 1) / THREADS)));
  double* partial = static_cast<double*>(ctx.scratch(sizeof(double) * parts));
  JETPINN_LAUNCH(sum_partials_kernel<T>, parts, THREADS, 0, stream_of(ctx))(n, x, partial);
  CUDA_CHECK_LAUNCH("sum_partials_kernel");
  JETPINN_LAUNCH(sum_finish_kernel<T>, 1, THREADS, 0, stream_of(ctx))(parts, partial, factor, out);
  CUDA_CHECK_LAUNCH("sum_finish_kernel");
}
}  // namespace

template <class T>
void sum_all(Context& ctx, std::ptrdiff_t n, const T* x, T* out) {
  reduce_all<T>(ctx, n, x, 1.0, out);
}
template <class T>
void mean_all(Context& ctx, std::ptrdiff_t n, const T* x, T* out) {
  JETPINN_CHECK(n > 0, "mean of an empty tensor");
  reduce_all<T>(ctx, n, x, 1.0 / static_cast<double>(n), out);
}

template <class T>
void colsum_accumulate(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols, const T* x, T* out) {
  if (cols == 0 || rows == 0) return;
  const std::ptrdiff_t col_blocks = (cols + CS_X - 1) / CS_X;
  JETPINN_CHECK(col_blocks <= 0x7fffffff, "colsum: too many columns (" << cols << ")");
  // Enough row chunks to fill the GPU (~1024 blocks), each at least 64 rows.
  std::ptrdiff_t parts = std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>(65535, std::min<std::ptrdiff_t>(
                                                         (rows + 63) / 64, std::max<std::ptrdiff_t>(1, 1024 / col_blocks))));
  const std::ptrdiff_t chunk = (rows + parts - 1) / parts;
  parts = (rows + chunk - 1) / chunk;  // no empty chunk
  double* partial = static_cast<double*>(ctx.scratch(sizeof(double) * static_cast<std::size_t>(parts * cols)));
  JETPINN_LAUNCH(colsum_partials_kernel<T>, dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(parts)), dim3(CS_X, CS_Y), 0, stream_of(ctx))(rows, cols, chunk, x, partial);
  CUDA_CHECK_LAUNCH("colsum_partials_kernel");
  JETPINN_LAUNCH(colsum_finish_kernel<T>, static_cast<unsigned>((cols + THREADS - 1) / THREADS), THREADS, 0, stream_of(ctx))(
      cols, static_cast<int>(parts), partial, out);
  CUDA_CHECK_LAUNCH("colsum_finish_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                                      \
  template void fill<T>(Context&, std::ptrdiff_t, T, T*);                                           \
  template void axpy<T>(Context&, std::ptrdiff_t, T, const T*, T*);                                 \
  template void scale<T>(Context&, std::ptrdiff_t, T, const T*, T*);                                \
  template void add<T>(Context&, std::ptrdiff_t, const T*, const T*, T*);                           \
  template void sub<T>(Context&, std::ptrdiff_t, const T*, const T*, T*);                           \
  template void mul<T>(Context&, std::ptrdiff_t, const T*, const T*, T*);                           \
  template void add_row_vector<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*, T*);          \
  template void sum_all<T>(Context&, std::ptrdiff_t, const T*, T*);                                 \
  template void mean_all<T>(Context&, std::ptrdiff_t, const T*, T*);                                \
  template void colsum_accumulate<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*, T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
