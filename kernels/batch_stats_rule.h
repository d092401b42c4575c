// Batch-gradient statistics of one layer, host-testable parts: the split of P points into B contiguous
// batches, and the per-entry combination of the batch partials G_b (out x in each):
//   G = sum_b G_b,  S1 = sum_b c_b G_b,  S2 = sum_b (c_b G_b)^2,  c_b = P / n_b  (S2 accumulated in double).
// c_b G_b is batch b's gradient rescaled to the full set (an unbiased estimate of G when the loss is a mean
// over points), so S1 / B and S2 / B - (S1 / B)^2 are the mean and variance of that estimate over batches.
#pragma once
#include <cstddef>
#include <vector>

#include "activations.h"  // JETPINN_HD
#include "check.h"

namespace jetpinn::cuda {

using Index = std::ptrdiff_t;  // as jetpinn::Index (core/tensor.h, which this header avoids: Eigen)

// Offsets of B contiguous batches covering [0, P): offsets[b]..offsets[b+1]; the first P % B batches hold one
// point more than the others. Needs 1 <= B <= P.
inline std::vector<Index> even_batches(Index P, int B) {
  JETPINN_CHECK(B >= 1 && B <= P, "batch statistics need 1 <= batches <= points, got " << B << " batches of " << P
                                                                                        << " points");
  std::vector<Index> off(static_cast<std::size_t>(B) + 1, 0);
  const Index base = P / B, extra = P % B;
  for (int b = 0; b < B; ++b) off[static_cast<std::size_t>(b) + 1] = off[static_cast<std::size_t>(b)] + base + (b < extra ? 1 : 0);
  return off;
}

// One entry j of the statistics from its B partials partial[b * stride + j] and the weights c[b].
template <class T>
JETPINN_HD inline void combine_batch_partials(const T* partial, long stride, long j, int B, const double* c, T& G,
                                              T& S1, double& S2) {
  T g = T(0), s1 = T(0);
  double s2 = 0;
  for (int b = 0; b < B; ++b) {
    const T gb = partial[b * stride + j];
    g += gb;
    s1 += static_cast<T>(c[b]) * gb;
    const double w = c[b] * static_cast<double>(gb);
    s2 += w * w;
  }
  G = g;
  S1 = s1;
  S2 = s2;
}

// Batch-aligned tiling of the fused statistics kernel (fused_mlp.h): batch b's n_b points are cut into
// ceil(n_b / TP) tiles of TP points (the last one ragged), and those into chunks of up to CT tiles; chunks are
// numbered batch by batch, and each one is a thread block that writes its own partial sums (no atomics).
JETPINN_HD inline Index batch_chunk_count(Index n_b, int TP, int CT) {
  const Index tiles = (n_b + TP - 1) / TP;
  return (tiles + CT - 1) / CT;
}
// Chunk c's batch (-1 past the last chunk) and its points [p0, p1). off: B + 1 offsets from 0 to P.
JETPINN_HD inline int locate_chunk(const Index* off, int B, int TP, int CT, Index c, Index& p0, Index& p1) {
  Index first = 0;
  for (int b = 0; b < B; ++b) {
    const Index nc = batch_chunk_count(off[b + 1] - off[b], TP, CT);
    if (c < first + nc) {
      p0 = off[b] + (c - first) * CT * TP;
      p1 = p0 + Index(CT) * TP < off[b + 1] ? p0 + Index(CT) * TP : off[b + 1];
      return b;
    }
    first += nc;
  }
  return -1;
}
// One entry j of the statistics from per-chunk partials partial[chunk * stride + j]: G_b is the sum of batch
// b's chunks in chunk order, c_b = P / n_b (P = off[B]), then as combine_batch_partials.
template <class T>
JETPINN_HD inline void combine_chunk_partials(const T* partial, long stride, long j, const Index* off, int B, int TP,
                                              int CT, T& G, T& S1, double& S2) {
  T g = T(0), s1 = T(0);
  double s2 = 0;
  Index chunk = 0;
  for (int b = 0; b < B; ++b) {
    const Index n_b = off[b + 1] - off[b], nc = batch_chunk_count(n_b, TP, CT);
    T gb = T(0);
    for (Index q = 0; q < nc; ++q) gb += partial[(chunk + q) * stride + j];
    chunk += nc;
    const double c = static_cast<double>(off[B]) / static_cast<double>(n_b);
    g += gb;
    s1 += static_cast<T>(c) * gb;
    const double w = c * static_cast<double>(gb);
    s2 += w * w;
  }
  G = g;
  S1 = s1;
  S2 = s2;
}

}  // namespace jetpinn::cuda
