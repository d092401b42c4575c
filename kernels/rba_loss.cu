// RBA update + mean-square loss kernels (see rba_loss.h). Forward: (1) per column, block partials of max / min
// |r| over row chunks; (2) one thread per column combines them in order into the column's scale and shift;
// (3) one grid-stride pass updates lambda and writes per-block partials of sum (w r)^2 and sum r^2; (4) one
// block combines those into stats and out. Grids depend on the shape only: bit-reproducible.
#include <cmath>

#include "cuda_check.h"
#include "launch.h"
#include "rba_loss.h"
#include "reduce_common.cuh"

namespace jetpinn::cuda {

namespace {
using namespace reduce_detail;

cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }

// Block (p, j): rows [p chunk, (p+1) chunk) of column j -> partial[(j parts + p) 2 + {0: max, 1: min}].
template <class T>
__global__ void rba_column_partials_kernel(std::ptrdiff_t P, std::ptrdiff_t k, std::ptrdiff_t chunk,
                                           const T* __restrict__ r, double* __restrict__ partial) {
  __shared__ double s[THREADS];
  const std::ptrdiff_t j = blockIdx.y, r0 = std::ptrdiff_t(blockIdx.x) * chunk;
  const std::ptrdiff_t r1 = r0 + chunk < P ? r0 + chunk : P;
  double hi = 0, lo = INFINITY;
  for (std::ptrdiff_t i = r0 + threadIdx.x; i < r1; i += THREADS) {
    const double a = fabs(static_cast<double>(r[i * k + j]));
    hi = fmax(hi, a);
    lo = fmin(lo, a);
  }
  hi = block_combine<Combine::Max>(hi, s);
  lo = block_combine<Combine::Min>(lo, s);
  if (threadIdx.x == 0) {
    double* q = partial + (j * gridDim.x + blockIdx.x) * 2;
    q[0] = hi;
    q[1] = lo;
  }
}

// col[2j] = scale, col[2j + 1] = shift of column j (core/rba.h's normalisation).
__global__ void rba_column_finish_kernel(std::ptrdiff_t k, int parts, bool minmax_rule,
                                         const double* __restrict__ partial, double* __restrict__ col) {
  const std::ptrdiff_t j = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= k) return;
  double hi = 0, lo = INFINITY;
  for (int p = 0; p < parts; ++p) {
    hi = fmax(hi, partial[(j * parts + p) * 2]);
    lo = fmin(lo, partial[(j * parts + p) * 2 + 1]);
  }
  const bool minmax = minmax_rule && hi > lo;
  col[2 * j] = minmax ? 1.0 / (hi - lo) : (hi > 0 ? 1.0 / hi : 0.0);
  col[2 * j + 1] = minmax ? lo : 0.0;
}

// The update (when col != null) and the per-block partials of sum (w r)^2 and sum r^2.
template <class T>
__global__ void rba_update_loss_kernel(std::ptrdiff_t n, std::ptrdiff_t k, const T* __restrict__ r,
                                       T* __restrict__ lambda, const double* __restrict__ col, RbaParams rule,
                                       bool weighted, double* __restrict__ partial) {
  __shared__ double s[THREADS];
  double loss = 0, mse = 0;
  for (std::ptrdiff_t e = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; e < n;
       e += std::ptrdiff_t(gridDim.x) * blockDim.x) {
    const double rv = static_cast<double>(r[e]);
    if (col) {
      const std::ptrdiff_t j = e % k;
      const double nr = (fabs(rv) - col[2 * j + 1]) * col[2 * j];
      const double l = rule.init ? nr : rule.gamma * static_cast<double>(lambda[e]) + rule.eta * nr;
      lambda[e] = static_cast<T>(l);
    }
    const double wr = weighted ? static_cast<double>(lambda[e]) * rv : rv;  // lambda as stored (in T)
    loss += wr * wr;
    mse += rv * rv;
  }
  loss = block_combine<Combine::Sum>(loss, s);
  mse = block_combine<Combine::Sum>(mse, s);
  if (threadIdx.x == 0) {
    partial[2 * blockIdx.x] = loss;
    partial[2 * blockIdx.x + 1] = mse;
  }
}

template <class T>
__global__ void rba_loss_finish_kernel(int parts, double n, const double* __restrict__ partial,
                                       T* __restrict__ out, double* __restrict__ stats) {
  __shared__ double s[THREADS];
  double loss = 0, mse = 0;
  for (int p = threadIdx.x; p < parts; p += blockDim.x) {
    loss += partial[2 * p];
    mse += partial[2 * p + 1];
  }
  loss = block_combine<Combine::Sum>(loss, s);
  mse = block_combine<Combine::Sum>(mse, s);
  if (threadIdx.x == 0) {
    stats[0] = loss / n;  // divisions, as HostOps
    stats[1] = mse / n;
    out[0] = static_cast<T>(stats[0]);
  }
}

template <class T>
__global__ void rba_mse_backward_kernel(std::ptrdiff_t n, const T* __restrict__ r, const T* __restrict__ lambda,
                                        bool weighted, const T* __restrict__ dloss, double nd, T* __restrict__ dr) {
  const double c = 2.0 * static_cast<double>(dloss[0]) / nd;  // as HostOps: 2 dloss / (P k), then c w w r
  for (std::ptrdiff_t e = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; e < n;
       e += std::ptrdiff_t(gridDim.x) * blockDim.x) {
    const double w = weighted ? static_cast<double>(lambda[e]) : 1.0;
    dr[e] += static_cast<T>(c * w * w * static_cast<double>(r[e]));
  }
}

std::size_t round_up(std::size_t doubles) { return (doubles + 31) / 32 * 32; }  // 256-byte sections
}  // namespace

template <class T>
void rba_mse_forward(Context& ctx, std::ptrdiff_t P, std::ptrdiff_t k, const T* r, T* lambda, const RbaParams& rule,
                     bool update, bool weighted, T* out, double* stats) {
  JETPINN_CHECK(P >= 0 && k >= 1, "rba_mse_forward: residual of " << P << " x " << k << " (need k >= 1)");
  JETPINN_CHECK(k <= 65535, "rba_mse_forward: at most 65535 residual columns, got " << k);
  JETPINN_CHECK(out && stats, "rba_mse_forward: null output");
  JETPINN_CHECK(lambda || (!update && !weighted), "rba_mse_forward: the multipliers are null");
  const std::ptrdiff_t n = P * k;
  // Column stage: row chunks of >= 4 THREADS rows, at most MAX_PARTS / k of them per column.
  const std::ptrdiff_t max_col_parts = std::max<std::ptrdiff_t>(1, MAX_PARTS / k);
  std::ptrdiff_t col_parts = std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>(max_col_parts, (P + 4 * THREADS - 1) / (4 * THREADS)));
  const std::ptrdiff_t chunk = std::max<std::ptrdiff_t>(1, (P + col_parts - 1) / col_parts);
  col_parts = std::max<std::ptrdiff_t>(1, (P + chunk - 1) / chunk);
  const int parts = parts_for(n);
  // Scratch (one request, carved): [column partials 2 k col_parts | column scale, shift 2 k | loss partials 2 parts]
  const std::size_t a = update ? round_up(static_cast<std::size_t>(2 * k * col_parts)) : 0;
  const std::size_t b = update ? round_up(static_cast<std::size_t>(2 * k)) : 0;
  double* base = static_cast<double*>(ctx.scratch(sizeof(double) * (a + b + 2 * static_cast<std::size_t>(parts))));
  double* col_partial = base;
  double* col = update ? base + a : nullptr;
  double* loss_partial = base + a + b;
  if (update && P > 0) {
    JETPINN_LAUNCH(rba_column_partials_kernel<T>, dim3(static_cast<unsigned>(col_parts), static_cast<unsigned>(k)), THREADS, 0, stream_of(ctx))(P, k, chunk, r, col_partial);
    CUDA_CHECK_LAUNCH("rba_column_partials_kernel");
    JETPINN_LAUNCH(rba_column_finish_kernel, static_cast<unsigned>((k + THREADS - 1) / THREADS), THREADS, 0, stream_of(ctx))(
        k, static_cast<int>(col_parts), rule.minmax, col_partial, col);
    CUDA_CHECK_LAUNCH("rba_column_finish_kernel");
  } else {
    col = nullptr;  // nothing to update (P = 0)
  }
  JETPINN_LAUNCH(rba_update_loss_kernel<T>, parts, THREADS, 0, stream_of(ctx))(n, k, r, lambda, col, rule, weighted, loss_partial);
  CUDA_CHECK_LAUNCH("rba_update_loss_kernel");
  const double nd = static_cast<double>(std::max<std::ptrdiff_t>(1, n));
  JETPINN_LAUNCH(rba_loss_finish_kernel<T>, 1, THREADS, 0, stream_of(ctx))(parts, nd, loss_partial, out, stats);
  CUDA_CHECK_LAUNCH("rba_loss_finish_kernel");
}

template <class T>
void rba_mse_backward(Context& ctx, std::ptrdiff_t P, std::ptrdiff_t k, const T* r, const T* lambda, bool weighted,
                      const T* dloss, T* dr) {
  JETPINN_CHECK(!weighted || lambda, "rba_mse_backward: weighted with null multipliers");
  const std::ptrdiff_t n = P * k;
  if (n <= 0 || !dr) return;
  JETPINN_LAUNCH(rba_mse_backward_kernel<T>, parts_for(n), THREADS, 0, stream_of(ctx))(n, r, lambda, weighted, dloss,
                                                                          static_cast<double>(n), dr);
  CUDA_CHECK_LAUNCH("rba_mse_backward_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                                                    \
  template void rba_mse_forward<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*, T*, const RbaParams&, bool, \
                                   bool, T*, double*);                                                            \
  template void rba_mse_backward<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, const T*, const T*, bool, const T*, \
                                    T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
