// Lbfgs<T>: limited-memory BFGS, one iteration per call, for float64 fine-tuning after Adam (float compiles too).
// Direction: two-loop recursion over the last `history` pairs (s, y) with H0 = (s'y / y'y) I from the newest pair;
// a pair is kept only when s'y > 1e-10 ||s|| ||y||. Step: strong-Wolfe line search (line_search.h, shared with
// the dense quasi-Newton methods of dense_qn.h). f and g of the
// current x are cached between calls, so an iteration costs only its line-search evaluations. The full state
// (history, cached f/g, counters) can be saved and restored, and a restored run continues bit for bit.
// Every n-vector (x, g, d, the history) lives in the memory of a VectorOps<T> (lbfgs_vectors.h): the host by
// default, or a device (kernels/lbfgs_device.h), where only scalars (dots, norms) come back to the host.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "lbfgs_vectors.h"
#include "line_search.h"
#include "tensor.h"

namespace jetpinn {

struct LbfgsConfig {
  int history = 50;                  // (s, y) pairs kept
  double tolerance_grad = 1e-12;     // converged when max |g| <= this
  double tolerance_change = 1e-14;   // converged when |f_new - f_old| < this or max |x_new - x_old| <= this
  int max_line_search_evals = 25;    // objective evaluations per line search, all trials included
  double c1 = 1e-4;                  // sufficient decrease (Armijo)
  double c2 = 0.9;                   // curvature: |g_new'd| <= c2 |g'd|
  double lr = 1.0;                   // first trial step; min(1, 1/||g||_1) * lr while the history is empty
  void validate() const;             // history >= 1, tolerances >= 0, evals >= 1, 0 < c1 < c2 < 1, lr > 0
};

struct LbfgsStatus {
  double f = 0;                     // objective at x after the call
  double grad_inf = 0;              // max |g| at x after the call
  int evals = 0;                    // objective evaluations in this call (the first call's evaluation at x included)
  double step = 0;                  // accepted step length along the direction (0: x did not move)
  long iteration = 0;               // iterations taken so far, this one included
  bool converged = false;           // a stopping tolerance was met (grad, |f change| or step)
  bool line_search_failed = false;  // the accepted point does not satisfy the strong Wolfe conditions
  bool restarted = false;           // history dropped: direction not a descent direction, or no progress
  bool stalled = false;             // no progress along steepest descent: further calls repeat this one
  bool done() const { return converged || stalled; }
  // Why x did not move and every later call would repeat this one (a run should end), or nullptr.
  const char* why_stuck() const {
    if (stalled) return "no decrease even along the steepest descent";
    if (converged && step == 0) return "the gradient is within optim's gradient tolerance";
    return nullptr;
  }
};

// Everything a checkpoint needs besides x itself (which the caller owns).
template <class T>
struct LbfgsState {
  std::vector<std::vector<T>> s, y;  // oldest pair first; s = x_{k+1} - x_k, y = g_{k+1} - g_k
  std::vector<double> rho;           // 1 / (s'y) per pair
  double h_diag = 1.0;               // H0 scale s'y / y'y of the newest pair
  bool has_cache = false;            // f and g below belong to the current x
  double f = 0;
  std::vector<T> g;
  long iteration = 0;
};

template <class T>
class Lbfgs {
 public:
  // f(x) returned, gradient written to grad (n entries). x is always the caller's buffer from iterate(),
  // holding the trial point, so an objective that reads the parameters from elsewhere (the same buffer) works.
  // x and grad are in the VectorOps' memory (device pointers for a device VectorOps).
  using Objective = std::function<double(const T* x, T* grad)>;

  // ops: where the vectors live and how they are combined; nullptr: HostVectorOps<T>.
  explicit Lbfgs(Index n, LbfgsConfig config = {}, std::shared_ptr<VectorOps<T>> ops = nullptr);

  Index size() const { return m_n; }
  const LbfgsConfig& config() const { return m_config; }

  // One iteration from x (n entries, in the VectorOps' memory), updated in place to the accepted point. Throws
  // if f or g at the starting point is not finite. A converged x (max |g| <= tolerance_grad) is returned
  // untouched with converged set. If fn throws, x holds the trial point it was called at: restore x and the
  // state from a checkpoint.
  LbfgsStatus iterate(const Objective& fn, T* x);

  // Drops the history and the cached f/g: call after x was changed outside (e.g. by Adam before switching).
  void reset();
  // Drops the cached f/g only, keeping the history: call after the objective changed (see TrainOptions::qn_refresh).
  void drop_cache() { m_has_cache = false; }

  LbfgsState<T> state() const;  // copies the vectors to the host
  // Throws unless the pair counts agree, are <= history, every vector holds size() entries, rho and h_diag are
  // finite and positive, and iteration >= 0.
  void set_state(LbfgsState<T> state);

 private:
  using Buffer = VectorBuffer<T>;
  using Search = StrongWolfeSearch<T>;

  LbfgsConfig m_config;
  Index m_n = 0;
  std::shared_ptr<VectorOps<T>> m_ops;  // declared before the buffers: released after them
  // The state of LbfgsState<T>, its vectors in the ops' memory.
  std::vector<Buffer> m_s, m_y;  // oldest pair first
  std::vector<double> m_rho;
  double m_h_diag = 1.0;
  bool m_has_cache = false;
  double m_f = 0;
  Buffer m_g;
  long m_iteration = 0;
  Search m_search;      // its start point x0 and direction d are this iteration's
  Buffer m_sn, m_yn;    // the candidate pair before the curvature guard

  void clear_history();
  void direction();  // d = -H g from the history
  void push_pair(const T* x, const T* g_new);
};

}  // namespace jetpinn
