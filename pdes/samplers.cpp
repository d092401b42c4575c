// Samplers (see samplers.h). Latin hypercube: stratum k of n holds lo + (k + u) (hi - lo) / n, u ~ U[0, 1),
// and each input's strata are permuted independently (Fisher-Yates from the same Rng).
#include "samplers.h"

#include <numeric>

#include "check.h"

namespace jetpinn {

RowMat<double> latin_hypercube(const Box& box, Index n, Rng& rng) {
  JETPINN_CHECK(n >= 1, "Latin hypercube needs at least one point, got " << n);
  RowMat<double> p(n, box.dims());
  std::vector<Index> perm(static_cast<std::size_t>(n));
  for (int d = 0; d < box.dims(); ++d) {
    std::iota(perm.begin(), perm.end(), Index(0));
    for (Index i = n - 1; i > 0; --i) {
      const auto j = static_cast<Index>(rng.next() % static_cast<std::uint64_t>(i + 1));
      std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
    }
    const double lo = box.lo[static_cast<std::size_t>(d)], w = box.hi[static_cast<std::size_t>(d)] - lo;
    for (Index i = 0; i < n; ++i)
      p(i, d) = lo + (static_cast<double>(perm[static_cast<std::size_t>(i)]) + rng.uniform()) * w / static_cast<double>(n);
  }
  return p;
}

void shuffle_rows(RowMat<double>& points, Rng& rng) {
  for (Index i = points.rows() - 1; i > 0; --i) {
    const auto j = static_cast<Index>(rng.next() % static_cast<std::uint64_t>(i + 1));
    points.row(i).swap(points.row(j));
  }
}

}  // namespace jetpinn
