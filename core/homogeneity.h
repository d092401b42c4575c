// Residual homogeneity phi_r: the domain's first two inputs are cut into a cells x cells grid (one axis of
// `cells` when there is one input); m_k = mean over the points in cell k (and over columns) of a non-negative
// per-point quantity (the RBA multipliers, or |r|); phi_r = mean_k m_k / sqrt(mean_k m_k^2) over non-empty cells.
// 1 means the quantity is spread evenly over the domain; it falls toward 1/sqrt(#cells) as it concentrates.
#pragma once
#include <cmath>
#include <vector>

#include "tensor.h"

namespace jetpinn {

// points: P x d; values: P x k (absolute values are taken); lo/hi: the domain's bounds per input.
template <class T, class V>
double homogeneity(const RowMat<T>& points, const V& values, const std::vector<double>& lo,
                   const std::vector<double>& hi, int cells = 10) {
  JETPINN_CHECK(points.rows() == values.rows(), "homogeneity: " << points.rows() << " points but " << values.rows()
                                                                << " values");
  JETPINN_CHECK(cells >= 1 && points.cols() >= 1 && lo.size() >= 1 && hi.size() == lo.size(),
                "homogeneity: needs cells >= 1 and the domain's bounds");
  const int dims = points.cols() >= 2 && lo.size() >= 2 ? 2 : 1;
  const auto ncell = static_cast<std::size_t>(dims == 2 ? cells * cells : cells);
  std::vector<double> sum(ncell, 0.0);
  std::vector<long> count(ncell, 0);
  auto cell_of = [&](Index i, int a) {
    const double u = (static_cast<double>(points(i, a)) - lo[static_cast<std::size_t>(a)]) /
                     (hi[static_cast<std::size_t>(a)] - lo[static_cast<std::size_t>(a)]);
    return std::clamp(static_cast<int>(std::floor(u * cells)), 0, cells - 1);
  };
  for (Index i = 0; i < points.rows(); ++i) {
    const int c = dims == 2 ? cell_of(i, 0) * cells + cell_of(i, 1) : cell_of(i, 0);
    double v = 0;
    for (Index j = 0; j < values.cols(); ++j) v += std::abs(static_cast<double>(values(i, j)));
    sum[static_cast<std::size_t>(c)] += v / static_cast<double>(values.cols());
    ++count[static_cast<std::size_t>(c)];
  }
  double m1 = 0, m2 = 0;
  int used = 0;
  for (std::size_t k = 0; k < ncell; ++k) {
    if (count[k] == 0) continue;
    const double m = sum[k] / static_cast<double>(count[k]);
    m1 += m;
    m2 += m * m;
    ++used;
  }
  if (used == 0 || m2 <= 0) return 0.0;
  return (m1 / used) / std::sqrt(m2 / used);
}

}  // namespace jetpinn
