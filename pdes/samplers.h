// Point samplers for loss terms: Latin hypercube in a box (the paper's collocation sets), uniform points on
// a box face, and evenly spaced points along one input. All draw from a jetpinn::Rng, so a seed fixes them.
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
// n uniform random points on the face where input `axis` equals `value`.
RowMat<double> uniform_on_face(const Box& box, int axis, double value, Index n, Rng& rng);
// n evenly spaced points along `axis` (endpoints included), other inputs fixed at `at`.
RowMat<double> linspace_along(const Box& box, int axis, const std::vector<double>& at, Index n);

template <class T>
RowMat<T> cast_points(const RowMat<double>& p) {
  return p.template cast<T>();
}

}  // namespace jetpinn
