// Batch-gradient statistics of one affine layer on the device (definitions in batch_stats_rule.h).
// dy: rows x out and a: rows x in are the layer's output adjoint and input jets (rows = S*P, stream-major),
// so the layer's weight gradient is dy^T a. With B contiguous batches of the P points (offsets[b]..offsets[b+1],
// all streams of those points):
//   G_b = sum_s dy[s*P + batch b]^T a[s*P + batch b]   (out x in),   c_b = P / n_b,
//   G = sum_b G_b,  S1 = sum_b c_b G_b,  S2 = sum_b (c_b G_b)^2   (S2 in double).
// First version: G_b by cuBLAS (strided-batched when the batches are equal, else one GEMM per stream and
// batch) into partials, then a combining kernel. Per-sample: ||g_i||^2 for g_i = sum_s dy_{s,i}^T a_{s,i},
//   ||g_i||^2 = sum_{s,s'} (dy_{s,i} . dy_{s',i}) (a_{s,i} . a_{s',i}),  in double, one warp per point.
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

// BackendOps's contract (core/backend_ops.h): G (T, out x in) overwritten, s1 += sum_b c_b G_b and
// s2 += sum_b (c_b G_b)^2 in double (accumulated across calls: the statistics of several loss terms add up).
// The bias version's G_b are summed in double. Nothing is copied from the host (the split is a kernel
// parameter), so both may be captured in a CUDA graph.
template <class T>
void batch_grad_stats_accumulate(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in,
                                 std::ptrdiff_t out, const T* dy, const T* a, const std::vector<std::ptrdiff_t>& offsets,
                                 T* G, double* s1, double* s2);
template <class T>
void batch_bias_stats_accumulate(Context& ctx, std::ptrdiff_t points, std::ptrdiff_t out, const T* dy,
                                 const std::vector<std::ptrdiff_t>& offsets, T* G, double* s1, double* s2);
// acc[0] += sum_i ||g_i||^2 (one deterministic reduction, no per-point buffer). a == nullptr: the bias, whose g_i
// is the value-stream row dy[i] (streams is then ignored).
template <class T>
void per_sample_sq_norms_accumulate(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in,
                                    std::ptrdiff_t out, const T* dy, const T* a, double* acc);

// norms[i] = ||g_i||^2 for every point (P doubles); total (a device double, may be null) = their sum.
template <class T>
void per_sample_sq_norms(Context& ctx, int streams, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                         const T* dy, const T* a, double* norms, double* total);

}  // namespace jetpinn::cuda
