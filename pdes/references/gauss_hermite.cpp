// Gauss–Hermite nodes and log-weights (see gauss_hermite.h). Orthonormal Hermite polynomials for the weight
// exp(−s²): p_0 = π^(−1/4), p_{k+1}(s) = sqrt(2/(k+1)) s p_k(s) − sqrt(k/(k+1)) p_{k−1}(s), with p_n' = sqrt(2n) p_{n−1}.
// The Jacobi matrix of this recurrence has zero diagonal and off-diagonal sqrt(k/2); its eigenvalues are the
// nodes. The recurrence grows like exp(s²/2), so it is run with a running power-of-two rescaling.
#include "gauss_hermite.h"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <numbers>

#include "check.h"

namespace jetpinn {

namespace {

struct HermiteAt {
  double p_n, p_nm1;  // p_n(s) and p_{n−1}(s), both times 2^(−scale)
  int scale;          // the true values are these times 2^scale
};

HermiteAt hermite_recurrence(int n, double s) {
  double prev = 0.0, cur = std::pow(std::numbers::pi, -0.25);
  int scale = 0;
  for (int k = 0; k < n; ++k) {
    const double next = std::sqrt(2.0 / (k + 1)) * s * cur - std::sqrt(double(k) / (k + 1)) * prev;
    prev = cur;
    cur = next;
    if (std::abs(cur) > 0x1p+500) {  // rescale both terms of the recurrence together
      cur = std::ldexp(cur, -500);
      prev = std::ldexp(prev, -500);
      scale += 500;
    }
  }
  return {cur, prev, scale};
}

}  // namespace

GaussHermiteRule gauss_hermite_rule(int n) {
  JETPINN_CHECK(n >= 1, "Gauss–Hermite rule needs at least 1 node, got " << n);
  GaussHermiteRule rule;
  rule.nodes.resize(n);
  rule.log_weights.resize(n);
  if (n == 1) {
    rule.nodes[0] = 0.0;
    rule.log_weights[0] = 0.5 * std::log(std::numbers::pi);
    return rule;
  }
  Eigen::VectorXd diag = Eigen::VectorXd::Zero(n), sub(n - 1);
  for (int k = 1; k < n; ++k) sub[k - 1] = std::sqrt(k / 2.0);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
  eig.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
  JETPINN_CHECK(eig.info() == Eigen::Success, "Gauss–Hermite: tridiagonal eigensolver failed for n = " << n);
  const Eigen::VectorXd guess = eig.eigenvalues();  // ascending

  // Polish the non-negative half and mirror it, so the rule is exactly antisymmetric.
  for (int i = n / 2; i < n; ++i) {
    double s = (n % 2 == 1 && i == n / 2) ? 0.0 : guess[i];
    HermiteAt h = hermite_recurrence(n, s);
    if (s != 0.0)
      for (int it = 0; it < 10; ++it) {  // Newton on p_n; converges in 1-2 steps from the eigenvalue guess
        const double ds = h.p_n / (std::sqrt(2.0 * n) * h.p_nm1);
        s -= ds;
        h = hermite_recurrence(n, s);
        if (std::abs(ds) <= 1e-16 * std::max(1.0, std::abs(s))) break;
      }
    const double log_p_nm1 = std::log(std::abs(h.p_nm1)) + h.scale * std::numbers::ln2;
    rule.nodes[i] = s;
    rule.log_weights[i] = -std::log(static_cast<double>(n)) - 2.0 * log_p_nm1;
    rule.nodes[n - 1 - i] = -s;
    rule.log_weights[n - 1 - i] = rule.log_weights[i];
  }
  return rule;
}

}  // namespace jetpinn
