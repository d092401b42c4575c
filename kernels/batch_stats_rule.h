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

}  // namespace jetpinn::cuda
