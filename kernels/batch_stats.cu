// Batch-gradient statistics kernels (see batch_stats.h).
#include <algorithm>

#include "batch_stats.h"
#include "blas.h"
#include "cuda_check.h"
#include "launch.h"
#include "elementwise.h"
#include "jet_rules.h"  // MAX_STREAMS
#include "reduce.h"

namespace jetpinn::cuda {

namespace {
cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }

// The split, by value in the kernel's parameters: c_b = P / n_b is computed in double on the device exactly as
// batch_weights() does on the host (one IEEE division).
struct BatchSplit {
  int batches = 0;
  double c[MAX_BATCHES] = {};
};

BatchSplit make_split(std::ptrdiff_t points, const std::vector<std::ptrdiff_t>& off) {
  const int B = static_cast<int>(off.size()) - 1;
  JETPINN_CHECK(B >= 1 && B <= MAX_BATCHES, "batch statistics take 1.." << MAX_BATCHES << " batches, got " << B);
  JETPINN_CHECK(off.front() == 0 && off.back() == points, "batch offsets must run from 0 to the point count " << points);
  BatchSplit s;
  s.batches = B;
  for (int b = 0; b < B; ++b) {
    const std::ptrdiff_t n = off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)];
    JETPINN_CHECK(n >= 1, "batch " << b << " is empty (offsets must increase)");
    s.c[b] = static_cast<double>(points) / static_cast<double>(n);
  }
  return s;
}

template <class T>
__global__ void combine_partials_kernel(std::ptrdiff_t entries, const __grid_constant__ BatchSplit split,
                                        const T* __restrict__ partial, T* __restrict__ G, T* __restrict__ S1,
                                        double* __restrict__ S2) {
  const std::ptrdiff_t j = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= entries) return;
  T g, s1;
  double s2;
  combine_batch_partials<T>(partial, entries, j, split.batches, split.c, g, s1, s2);
  G[j] = g;
  S1[j] = s1;
  S2[j] = s2;
}

// partial[b][o] = sum over the rows of batch b (value stream) of dy[row][o]; one thread per (b, o).
template <class T>
__global__ void bias_partials_kernel(std::ptrdiff_t out, const std::ptrdiff_t* __restrict__ off_dev,
                                     const T* __restrict__ dy, T* __restrict__ partial) {
  const std::ptrdiff_t o = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int b = blockIdx.y;
  if (o >= out) return;
  T acc = T(0);
  for (std::ptrdiff_t r = off_dev[b]; r < off_dev[b + 1]; ++r) acc += dy[r * out + o];
  partial[std::ptrdiff_t(b) * out + o] = acc;
}

// One warp per point: the S x S Gram matrices of its dy rows and a rows, combined into ||g_i||^2.
template <class T>
__global__ void per_sample_kernel(int S, std::ptrdiff_t P, std::ptrdiff_t in, std::ptrdiff_t out,
                                  const T* __restrict__ dy, const T* __restrict__ a, double* __restrict__ norms) {
  const int lane = threadIdx.x & 31;
  const std::ptrdiff_t i = std::ptrdiff_t(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5);
  if (i >= P) return;  // whole warps leave together: i is uniform across a warp
  double total = 0;
  for (int s = 0; s < S; ++s) {
    for (int t = s; t < S; ++t) {
      double ddy = 0, da = 0;
      const T* ys = dy + (s * P + i) * out;
      const T* yt = dy + (t * P + i) * out;
      for (std::ptrdiff_t c = lane; c < out; c += 32) ddy += static_cast<double>(ys[c]) * static_cast<double>(yt[c]);
      const T* as = a + (s * P + i) * in;
      const T* at = a + (t * P + i) * in;
      for (std::ptrdiff_t c = lane; c < in; c += 32) da += static_cast<double>(as[c]) * static_cast<double>(at[c]);
      for (int m = 16; m > 0; m >>= 1) {
        ddy += __shfl_xor_sync(0xffffffffu, ddy, m);
        da += __shfl_xor_sync(0xffffffffu, da, m);
      }
      total += (s == t ? 1.0 : 2.0) * ddy * da;  // the (s, t) and (t, s) terms are equal
    }
  }
  if (lane == 0) norms[i] = total;
}

// BackendOps's combination: G = sum_b G_b (T, overwritten), s1 += c_b G_b and s2 += (c_b G_b)^2 in double, batch
// by batch in order (as HostOps). PT: the partials' type (T for the GEMM partials, double for the bias sums,
// rounded to T first as the host's colwise sums are in T).
template <class T, class PT>
__global__ void combine_accumulate_kernel(std::ptrdiff_t entries, const __grid_constant__ BatchSplit split,
                                          const PT* __restrict__ partial, T* __restrict__ G, double* __restrict__ s1,
                                          double* __restrict__ s2) {
  const std::ptrdiff_t j = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= entries) return;
  T g = T(0);
  double a1 = s1[j], a2 = s2[j];
  for (int b = 0; b < split.batches; ++b) {
    const T gb = static_cast<T>(partial[std::ptrdiff_t(b) * entries + j]);
    g += gb;
    const double cv = split.c[b] * static_cast<double>(gb);
    a1 += cv;
    a2 += cv * cv;
  }
  G[j] = g;
  s1[j] = a1;
  s2[j] = a2;
}

// The batch ranges by value (no host copy inside a step: graph-safe).
struct BatchRanges {
  int batches = 0;
  long long off[MAX_BATCHES + 1] = {};
};

// partial[b][o] = sum over the value-stream rows of batch b of dy[row][o], in double. Block (32 x 8): 32 columns,
// 8 row lanes combined in a fixed order.
constexpr int BS_X = 32, BS_Y = 8;
template <class T>
__global__ void bias_partials_double_kernel(std::ptrdiff_t out, const __grid_constant__ BatchRanges ranges,
                                            const T* __restrict__ dy, double* __restrict__ partial) {
  __shared__ double sh[BS_Y][BS_X];
  const std::ptrdiff_t o = std::ptrdiff_t(blockIdx.x) * BS_X + threadIdx.x;
  const int b = blockIdx.y;
  double acc = 0;
  if (o < out)
    for (std::ptrdiff_t r = ranges.off[b] + threadIdx.y; r < ranges.off[b + 1]; r += BS_Y)
      acc += static_cast<double>(dy[r * out + o]);
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && o < out) {
    double t = 0;
    for (int y = 0; y < BS_Y; ++y) t += sh[y][threadIdx.x];
    partial[std::ptrdiff_t(b) * out + o] = t;
  }
}

// One warp per point (8 per block): ||g_i||^2 as per_sample_kernel (or sum_j dy[i][j]^2 when a is null), then
// the block's sum of its 8 points in order -> partial[block].
constexpr int PS_WARPS = 8;
template <class T>
__global__ void per_sample_partials_kernel(int S, std::ptrdiff_t P, std::ptrdiff_t in, std::ptrdiff_t out,
                                           const T* __restrict__ dy, const T* __restrict__ a,
                                           double* __restrict__ partial) {
  __shared__ double w[PS_WARPS];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const std::ptrdiff_t i = std::ptrdiff_t(blockIdx.x) * PS_WARPS + warp;
  double total = 0;
  if (i < P) {  // uniform across the warp
    if (!a) {
      double sq = 0;
      for (std::ptrdiff_t c = lane; c < out; c += 32) {
        const double v = static_cast<double>(dy[i * out + c]);
        sq += v * v;
      }
      for (int m = 16; m > 0; m >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, m);
      total = sq;
    } else {
      for (int s = 0; s < S; ++s) {
        for (int t = s; t < S; ++t) {
          double ddy = 0, da = 0;
          const T* ys = dy + (s * P + i) * out;
          const T* yt = dy + (t * P + i) * out;
          for (std::ptrdiff_t c = lane; c < out; c += 32) ddy += static_cast<double>(ys[c]) * static_cast<double>(yt[c]);
          const T* as = a + (s * P + i) * in;
          const T* at = a + (t * P + i) * in;
          for (std::ptrdiff_t c = lane; c < in; c += 32) da += static_cast<double>(as[c]) * static_cast<double>(at[c]);
          for (int m = 16; m > 0; m >>= 1) {
            ddy += __shfl_xor_sync(0xffffffffu, ddy, m);
            da += __shfl_xor_sync(0xffffffffu, da, m);
          }
          total += (s == t ? 1.0 : 2.0) * ddy * da;
        }
      }
    }
  }
  if (lane == 0) w[warp] = total;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0;
    for (int k = 0; k < PS_WARPS; ++k) t += w[k];
    partial[blockIdx.x] = t;
  }
}

// G_b partials (out x in each, G_b^T column-major = G_b row-major) of every batch into ctx's scratch.
template <class T>
T* grad_partials(Context& ctx, int streams, std::ptrdiff_t P, std::ptrdiff_t in, std::ptrdiff_t out, const T* dy,
                 const T* a, const std::vector<std::ptrdiff_t>& offsets, int B) {
  const std::ptrdiff_t entries = out * in;
  T* partial = static_cast<T*>(ctx.scratch(sizeof(T) * static_cast<std::size_t>(entries * B)));
  bool even = true;
  for (int b = 0; b < B; ++b) even &= offsets[static_cast<std::size_t>(b) + 1] - offsets[static_cast<std::size_t>(b)] == P / B;
  // G_b^T (in x out, column-major, ld in) += a_rows^T dy_rows, as affine_backward's dW (see affine.cu).
  for (int s = 0; s < streams; ++s) {
    const T beta = s == 0 ? T(0) : T(1);
    if (even) {
      const std::ptrdiff_t n = P / B;
      gemm_strided_batched<T>(ctx, false, true, in, out, n, T(1), a + s * P * in, in, n * in, dy + s * P * out, out,
                              n * out, beta, partial, in, entries, B);
    } else {
      for (int b = 0; b < B; ++b) {
        const std::ptrdiff_t r0 = s * P + offsets[static_cast<std::size_t>(b)];
        const std::ptrdiff_t n = offsets[static_cast<std::size_t>(b) + 1] - offsets[static_cast<std::size_t>(b)];
        gemm<T>(ctx, false, true, in, out, n, T(1), a + r0 * in, in, dy + r0 * out, out, beta, partial + b * entries, in);
      }
    }
  }
  return partial;
}
}  // namespace

template <class T>
void batch_grad_stats(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                      const T* dy, const T* a, const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2) {
  const BatchSplit split = make_split(points, offsets);
  const int B = split.batches;
  JETPINN_CHECK(streams >= 1, "batch_grad_stats: streams must be >= 1");
  const std::ptrdiff_t entries = out * in, P = points;
  if (entries == 0) return;
  const T* partial = grad_partials<T>(ctx, streams, P, in, out, dy, a, offsets, B);
  const int threads = 256;
  JETPINN_LAUNCH(combine_partials_kernel<T>, static_cast<unsigned>((entries + threads - 1) / threads), threads, 0, stream_of(ctx))(
      entries, split, partial, G, S1, S2);
  CUDA_CHECK_LAUNCH("combine_partials_kernel");
}

template <class T>
void batch_bias_stats(Context& ctx, std::ptrdiff_t points, std::ptrdiff_t out, const T* dy,
                      const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2) {
  const BatchSplit split = make_split(points, offsets);
  const int B = split.batches;
  if (out == 0) return;
  // Scratch: [offsets (B + 1 Index) | partials (B * out T)], offsets uploaded (small, pageable: synchronous).
  const std::size_t off_bytes = (sizeof(std::ptrdiff_t) * (B + 1) + 255) / 256 * 256;
  char* base = static_cast<char*>(ctx.scratch(off_bytes + sizeof(T) * static_cast<std::size_t>(out * B)));
  std::ptrdiff_t* off_dev = reinterpret_cast<std::ptrdiff_t*>(base);
  T* partial = reinterpret_cast<T*>(base + off_bytes);
  CUDA_CHECK(cudaMemcpyAsync(off_dev, offsets.data(), sizeof(std::ptrdiff_t) * (B + 1), cudaMemcpyHostToDevice,
                             stream_of(ctx)));
  const int threads = 128;
  JETPINN_LAUNCH(bias_partials_kernel<T>, dim3(static_cast<unsigned>((out + threads - 1) / threads), static_cast<unsigned>(B)), threads, 0, stream_of(ctx))(out, off_dev, dy, partial);
  CUDA_CHECK_LAUNCH("bias_partials_kernel");
  JETPINN_LAUNCH(combine_partials_kernel<T>, static_cast<unsigned>((out + 255) / 256), 256, 0, stream_of(ctx))(out, split, partial,
                                                                                                   G, S1, S2);
  CUDA_CHECK_LAUNCH("combine_partials_kernel");
}

template <class T>
void per_sample_sq_norms(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                         const T* dy, const T* a, double* norms, double* total) {
  JETPINN_CHECK(streams >= 1 && streams <= MAX_STREAMS, "per_sample_sq_norms: 1.." << MAX_STREAMS << " streams, got "
                                                                                    << streams);
  if (points == 0) return;
  const int warps = 8;
  const std::ptrdiff_t blocks = (points + warps - 1) / warps;
  JETPINN_CHECK(blocks <= 0x7fffffff, "per_sample_sq_norms: too many points");
  JETPINN_LAUNCH(per_sample_kernel<T>, static_cast<unsigned>(blocks), warps * 32, 0, stream_of(ctx))(streams, points, in, out, dy,
                                                                                         a, norms);
  CUDA_CHECK_LAUNCH("per_sample_kernel");
  if (total) sum_all<double>(ctx, points, norms, total);
}

template <class T>
void batch_grad_stats_accumulate(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in,
                                 std::ptrdiff_t out, const T* dy, const T* a, const std::vector<std::ptrdiff_t>& offsets,
                                 T* G, double* s1, double* s2) {
  const BatchSplit split = make_split(points, offsets);
  JETPINN_CHECK(streams >= 1, "batch_grad_stats_accumulate: streams must be >= 1");
  const std::ptrdiff_t entries = out * in;
  if (entries == 0) return;
  const T* partial = grad_partials<T>(ctx, streams, points, in, out, dy, a, offsets, split.batches);
  const int threads = 256;
  JETPINN_LAUNCH((combine_accumulate_kernel<T, T>), static_cast<unsigned>((entries + threads - 1) / threads), threads, 0, stream_of(ctx))(entries, split, partial, G, s1, s2);
  CUDA_CHECK_LAUNCH("combine_accumulate_kernel");
}

template <class T>
void batch_bias_stats_accumulate(Context& ctx, std::ptrdiff_t points, std::ptrdiff_t out, const T* dy,
                                 const std::vector<std::ptrdiff_t>& offsets, T* G, double* s1, double* s2) {
  const BatchSplit split = make_split(points, offsets);
  const int B = split.batches;
  if (out == 0) return;
  BatchRanges ranges;
  ranges.batches = B;
  for (int b = 0; b <= B; ++b) ranges.off[b] = static_cast<long long>(offsets[static_cast<std::size_t>(b)]);
  const std::ptrdiff_t col_blocks = (out + BS_X - 1) / BS_X;
  JETPINN_CHECK(col_blocks <= 0x7fffffff, "batch_bias_stats_accumulate: too many columns (" << out << ")");
  double* partial = static_cast<double*>(ctx.scratch(sizeof(double) * static_cast<std::size_t>(out * B)));
  JETPINN_LAUNCH(bias_partials_double_kernel<T>, dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(B)), dim3(BS_X, BS_Y), 0, stream_of(ctx))(out, ranges, dy, partial);
  CUDA_CHECK_LAUNCH("bias_partials_double_kernel");
  JETPINN_LAUNCH((combine_accumulate_kernel<T, double>), static_cast<unsigned>((out + 255) / 256), 256, 0, stream_of(ctx))(
      out, split, partial, G, s1, s2);
  CUDA_CHECK_LAUNCH("combine_accumulate_kernel");
}

template <class T>
void per_sample_sq_norms_accumulate(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in,
                                    std::ptrdiff_t out, const T* dy, const T* a, double* acc) {
  JETPINN_CHECK(!a || (streams >= 1 && streams <= MAX_STREAMS),
                "per_sample_sq_norms: 1.." << MAX_STREAMS << " streams, got " << streams);
  if (points == 0) return;
  const std::ptrdiff_t blocks = (points + PS_WARPS - 1) / PS_WARPS;
  JETPINN_CHECK(blocks <= 0x7fffffff, "per_sample_sq_norms: too many points");
  double* partial = static_cast<double*>(ctx.scratch(sizeof(double) * static_cast<std::size_t>(blocks)));
  JETPINN_LAUNCH(per_sample_partials_kernel<T>, static_cast<unsigned>(blocks), PS_WARPS * 32, 0, stream_of(ctx))(
      a ? streams : 1, points, in, out, dy, a, partial);
  CUDA_CHECK_LAUNCH("per_sample_partials_kernel");
  sum_partials_accumulate(ctx, static_cast<int>(blocks), partial, acc);
}

#define JETPINN_INSTANTIATE(T)                                                                                    \
  template void batch_grad_stats<T>(Context&, int, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*,      \
                                    const T*, const std::vector<std::ptrdiff_t>&, T*, T*, double*);              \
  template void batch_bias_stats<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*,                           \
                                    const std::vector<std::ptrdiff_t>&, T*, T*, double*);                         \
  template void per_sample_sq_norms<T>(Context&, int, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, const T*,   \
                                       const T*, double*, double*);                                              \
  template void batch_grad_stats_accumulate<T>(Context&, int, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,    \
                                               const T*, const T*, const std::vector<std::ptrdiff_t>&, T*, double*, \
                                               double*);                                                          \
  template void batch_bias_stats_accumulate<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*,                \
                                               const std::vector<std::ptrdiff_t>&, T*, double*, double*);         \
  template void per_sample_sq_norms_accumulate<T>(Context&, int, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,  \
                                                  const T*, const T*, double*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
