// Residual-based attention (RBA): per-point multipliers lambda, updated from the residuals with no gradient
// through them, lambda <- gamma lambda + eta |r| / max|r| (variant "max") or eta (|r| - min|r|) / (max|r| - min|r|)
// ("minmax"), per residual component (column). With init "residual" the first update sets lambda = |r| / max|r|.
// The weighted loss is mean((lambda r)^2). Multipliers are tracked even when RBA is off (for homogeneity).
#pragma once
#include <cmath>

#include "tensor.h"

namespace jetpinn {

struct RbaConfig {
  bool enabled = false;
  double eta = 1e-3, gamma = 0.999;
  bool minmax = false;
  bool init_from_residual = false;
};

// lambda (P x k) updated in place from residuals r (P x k); `first` marks the first update of a run.
template <class T, class R>
void rba_update(const RbaConfig& c, const R& r, RowMat<T>& lambda, bool first) {
  JETPINN_CHECK(lambda.rows() == r.rows() && lambda.cols() == r.cols(),
                "RBA multipliers " << shape_str(lambda.rows(), lambda.cols()) << " do not match residuals "
                                   << shape_str(r.rows(), r.cols()));
  for (Index j = 0; j < r.cols(); ++j) {
    double hi = 0, lo = INFINITY;
    for (Index i = 0; i < r.rows(); ++i) {
      const double a = std::abs(static_cast<double>(r(i, j)));
      hi = std::max(hi, a);
      lo = std::min(lo, a);
    }
    const bool minmax = c.minmax && hi > lo;
    const double scale = minmax ? 1.0 / (hi - lo) : (hi > 0 ? 1.0 / hi : 0.0), shift = minmax ? lo : 0.0;
    for (Index i = 0; i < r.rows(); ++i) {
      const double nr = (std::abs(static_cast<double>(r(i, j))) - shift) * scale;
      const double l = first && c.init_from_residual ? nr : c.gamma * static_cast<double>(lambda(i, j)) + c.eta * nr;
      lambda(i, j) = static_cast<T>(l);
    }
  }
}

}  // namespace jetpinn
