// Gauss–Hermite quadrature: ∫ g(s) exp(−s²) ds ≈ Σ_i w_i g(s_i) over the real line, exact for polynomials g of
// degree <= 2n − 1. Weights are kept as logarithms: w_i falls like exp(−s_i²), which underflows a double for
// n >~ 350, and callers that multiply by large integrands (Burgers' Cole–Hopf kernel) add exponents instead.
// Nodes are ascending and exactly antisymmetric (s_i = −s_{n−1−i}); an odd rule has s = 0 in the middle.
#pragma once
#include <vector>

namespace jetpinn {

struct GaussHermiteRule {
  std::vector<double> nodes;
  std::vector<double> log_weights;  // log w_i
};

// Golub–Welsch eigenvalues of the Jacobi matrix as first guesses, polished by Newton on the orthonormal Hermite
// recurrence; weights from the Christoffel formula w_i = 1 / (n p_{n−1}(s_i)²). n >= 1.
GaussHermiteRule gauss_hermite_rule(int n);

}  // namespace jetpinn
