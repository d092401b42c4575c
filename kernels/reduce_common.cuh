// Building blocks of the deterministic reductions (reduce.cu, rba_loss.cu, batch_stats.cu): a fixed grid per
// size and a shared-memory tree over one block. For .cu files only.
#pragma once
#include <algorithm>
#include <cstddef>

namespace jetpinn::cuda::reduce_detail {

constexpr int THREADS = 256;     // every reduction block has exactly this many threads
constexpr int MAX_PARTS = 1024;  // per-block partials of the first stage

// Blocks of the first stage: a function of n only (so the tree, and the bits, depend on n only).
inline int parts_for(std::ptrdiff_t n) {
  return static_cast<int>(std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>(MAX_PARTS, (n + THREADS - 1) / THREADS)));
}

enum class Combine { Sum, Max, Min };

template <Combine OP>
__device__ inline double combine(double a, double b) {
  if constexpr (OP == Combine::Sum) return a + b;
  else if constexpr (OP == Combine::Max) return fmax(a, b);  // fmax/fmin skip a NaN operand, like std::max/min
  else return fmin(a, b);
}

// Block-wide combination of one double per thread (blockDim.x == THREADS) over `s` (THREADS doubles of shared
// memory owned by the caller); every thread gets the result. Fixed pairing: deterministic.
template <Combine OP>
__device__ inline double block_combine(double v, double* s) {
  s[threadIdx.x] = v;
  __syncthreads();
  for (int h = THREADS / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h) s[threadIdx.x] = combine<OP>(s[threadIdx.x], s[threadIdx.x + h]);
    __syncthreads();
  }
  const double r = s[0];
  __syncthreads();  // s may be reused right after
  return r;
}

}  // namespace jetpinn::cuda::reduce_detail
