// Batch-gradient statistics of one affine layer on the device (definitions in batch_stats_rule.h).
// dy: rows x out and a: rows x in are the layer's output adjoint and input jets (rows = S*P, stream-major),
// so the layer's weight gradient is dy^T a. With B contiguous batches of the P points (offsets[b]..offsets[b+1],
// all streams of those points):
//   G_b = sum_s dy[s*P + batch b]^T a[s*P + batch b]   (out x in),   c_b = P / n_b,
//   G = sum_b G_b,  S1 = sum_b c_b G_b,  S2 = sum_b (c_b G_b)^2   (S2 in double).
// First version: G_b by cuBLAS (strided-batched when the batches are equal, else one GEMM per stream and
// batch) into partials, then a combining kernel. Per-sample: ||g_i||^2 for g_i = sum_s dy_{s,i}^T a_{s,i},
//   ||g_i||^2 = sum_{s,s'} (dy_{s,i} . dy_{s',i}) (a_{s,i} . a_{s',i}),  in double, one warp per point.
// Compiled, not yet run on a device.
#pragma once
#include <cstddef>
#include <vector>

#include "batch_stats_rule.h"
#include "device_context.h"

namespace jetpinn::cuda {

constexpr int MAX_BATCHES = 256;

// G, S1: out x in (T); S2: out x in (double). Overwritten. offsets: B + 1 host entries from 0 to P.
template <class T>
void batch_grad_stats(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                      const T* dy, const T* a, const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2);

// The bias's statistics: G_b = colsum of the value-stream rows of dy in batch b (length out).
template <class T>
void batch_bias_stats(Context& ctx, std::ptrdiff_t points, std::ptrdiff_t out, const T* dy,
                      const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2);

// norms[i] = ||g_i||^2 for every point (P doubles); total (a device double, may be null) = their sum.
template <class T>
void per_sample_sq_norms(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                         const T* dy, const T* a, double* norms, double* total);

}  // namespace jetpinn::cuda
