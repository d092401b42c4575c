// DenseQuasiNewton: full-memory quasi-Newton methods for float64 fine-tuning of small networks, beside L-BFGS
// (lbfgs.h), with the same shape: one iteration per iterate() call, f and g of the current x cached between calls,
// a state that a checkpoint restores bit for bit.
// H, the inverse-Hessian approximation, is a dense n x n matrix (host memory; only its lower triangle is kept)
// updated by rank-one/rank-two operations of the Broyden family (Eigen, BLAS behind it where the build has one):
//   bfgs       the BFGS update (Nocedal & Wright eq. 6.17);
//   ssbfgs     BFGS with Al-Baali's self-scaling factor tau_k = min(1, 1/b_k);
//   ssbroyden  the self-scaled Broyden update with tau_k and phi_k chosen per step as in Urbán, Stefanou & Pons,
//              "Unveiling the optimization process of physics informed neural networks: how accurate and
//              competitive can PINNs be?", J. Comput. Phys. 523 (2025) 113656, arXiv:2405.04230, Sec. 3
//              (also Kiyani et al., arXiv:2501.16371, Sec. 2).
// Direction d = -H g; step: the strong-Wolfe line search shared with L-BFGS (line_search.h). Safeguards: a pair
// with s'y <= 1e-10 ||s|| ||y|| leaves H unchanged (no positive-definite update exists without curvature); a
// line search that finds no decrease, or an H whose direction is no descent direction, resets H to the identity.
// The first pair after a reset first scales H0 = (s'y / y'y) I (Nocedal & Wright eq. 6.20).
// Memory: 8 n^2 bytes for H; sizes above DenseQnConfig::max_params are refused (use L-BFGS).
#pragma once
#include <Eigen/Core>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lbfgs.h"
#include "line_search.h"
#include "tensor.h"

namespace jetpinn {

enum class QuasiNewtonMethod { Bfgs, SsBfgs, SsBroyden };

// "bfgs", "ssbfgs", "ssbroyden"; throws listing the choices.
QuasiNewtonMethod parse_dense_method(const std::string& name);
const char* method_name(QuasiNewtonMethod method);

struct DenseQnConfig {
  QuasiNewtonMethod method = QuasiNewtonMethod::SsBroyden;
  Index max_params = 20000;          // larger problems are refused: H alone would take 8 n^2 bytes
  double tolerance_grad = 1e-12;     // converged when max |g| <= this
  double tolerance_change = 1e-14;   // converged when |f_new - f_old| < this or max |x_new - x_old| <= this
  int max_line_search_evals = 25;    // objective evaluations per line search, all trials included
  double c1 = 1e-4;                  // sufficient decrease (Armijo)
  double c2 = 0.9;                   // curvature: |g_new'd| <= c2 |g'd|
  double lr = 1.0;                   // first trial step; min(1, 1/||g||_1) * lr while H is the identity
  void validate() const;             // max_params >= 1, tolerances >= 0, evals >= 1, 0 < c1 < c2 < 1, lr > 0
};

// LbfgsStatus's fields (restarted: H was reset to the identity), and what the update did.
struct DenseQnStatus : LbfgsStatus {
  bool update_skipped = false;  // the pair failed the curvature guard: H unchanged
  double tau = 1, phi = 1;      // the update's scaling and Broyden parameter (1, 1: plain BFGS)
};

// Everything a checkpoint needs besides x.
struct DenseQnState {
  std::vector<double> h_lower;  // H's lower triangle, column by column: n (n + 1) / 2 entries
  long updates = 0;             // updates since H was last the identity (0: H is the identity)
  bool has_cache = false;       // f and g below belong to the current x
  double f = 0;
  std::vector<double> g;
  long iteration = 0;
};

class DenseQuasiNewton {
 public:
  // As Lbfgs<double>::Objective: x is always the caller's buffer from iterate(), holding the trial point.
  using Objective = std::function<double(const double* x, double* grad)>;

  // Throws if n > config.max_params (one line saying to use L-BFGS) or the configuration is invalid.
  explicit DenseQuasiNewton(Index n, DenseQnConfig config = {});
  DenseQuasiNewton(const DenseQuasiNewton&) = delete;  // the search's buffers point into m_ops
  DenseQuasiNewton& operator=(const DenseQuasiNewton&) = delete;

  // Throws, in one line saying to use L-BFGS, if n parameters are above config.max_params.
  static void check_size(Index n, const DenseQnConfig& config);

  Index size() const { return m_n; }
  const DenseQnConfig& config() const { return m_config; }

  // One iteration from x (n entries), updated in place to the accepted point; the contract of Lbfgs::iterate.
  DenseQnStatus iterate(const Objective& fn, double* x);

  // H back to the identity and the cached f/g dropped: call after x was changed outside.
  void reset();
  // Drops the cached f/g only, keeping H: call after the objective changed (see TrainOptions::qn_refresh).
  void drop_cache() { m_has_cache = false; }

  DenseQnState state() const;
  // Throws unless the sizes fit size(), every entry is finite, the diagonal of H is positive, updates and
  // iteration are >= 0 and a cached f is finite.
  void set_state(DenseQnState state);

  double inverse_hessian(Index i, Index j) const { return i >= j ? m_h(i, j) : m_h(j, i); }

 private:
  using Buffer = VectorBuffer<double>;
  using Search = StrongWolfeSearch<double>;

  DenseQnConfig m_config;
  Index m_n = 0;
  std::shared_ptr<HostVectorOps<double>> m_ops;  // declared before the buffers: released after them
  // The state of DenseQnState.
  Eigen::MatrixXd m_h;  // lower triangle only
  long m_updates = 0;
  bool m_has_cache = false;
  double m_f = 0;
  Buffer m_g;
  long m_iteration = 0;
  Search m_search;                     // x0 and d of this iteration
  // The pair, H y and the rank-two update's second vector (also scratch for the direction): Eigen-owned, so
  // aligned alike in every run.
  Eigen::VectorXd m_s, m_y, m_hy, m_u;

  void set_identity();
  // Updates H from the accepted step (x - x0) and gradient change; step is the accepted step length along d.
  void update(const double* x, const double* g_new, double step, DenseQnStatus& out);
};

}  // namespace jetpinn
