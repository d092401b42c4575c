// Point samplers for loss terms: Latin hypercube in a box (the paper's collocation sets). They draw from a
// jetpinn::Rng, so a seed fixes them.
#pragma once
#include <vector>

#include "rng.h"
#include "tensor.h"

namespace jetpinn {

struct Box {
  std::vector<double> lo, hi;  // per input
  int dims() const { return static_cast<int>(lo.size()); }
};

// n Latin-hypercube points: each input's range cut into n strata, one point per stratum, strata shuffled.
RowMat<double> latin_hypercube(const Box& box, Index n, Rng& rng);

// Rows in a random order (Fisher-Yates). Points drawn in parts (a band, then the rest) must be mixed: the batch
// SNR cuts the points into contiguous batches, which should each sample the whole set.
void shuffle_rows(RowMat<double>& points, Rng& rng);

template <class T>
RowMat<T> cast_points(const RowMat<double>& p) {
  return p.template cast<T>();
}

}  // namespace jetpinn
