// Adam<T>: Kingma & Ba's Adam over one flat parameter vector, with the bias correction of torch.optim.Adam:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t);
//   p -= lr * m_hat / (sqrt(v_hat) + eps).
// Moments live in T; bias-correction factors and the per-entry update are computed in double. Sequential loops
// only, so a step is bit-for-bit reproducible. State (t, m, v) is exposed for checkpoints.
#pragma once
#include <vector>

#include "params.h"

namespace jetpinn {

struct AdamConfig {
  double lr = 1e-3;  // used by step() without an lr; a trainer with an LrSchedule passes lr per step instead
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  void validate() const;  // lr >= 0, 0 <= beta < 1, eps >= 0, all finite
};

template <class T>
class Adam {
 public:
  explicit Adam(Index n, AdamConfig config = {});

  Index size() const { return m_n; }
  const AdamConfig& config() const { return m_config; }

  // One step with learning rate lr (finite, >= 0): updates params in place from grads (both n entries).
  void step(T* params, const T* grads, double lr);
  void step(T* params, const T* grads) { step(params, grads, m_config.lr); }
  void step(ParamStore<T>& params, double lr);

  // Checkpoint state: steps taken and the raw (uncorrected) moments.
  long t() const { return m_t; }
  std::vector<T>& m() { return m_m; }
  const std::vector<T>& m() const { return m_m; }
  std::vector<T>& v() { return m_v; }
  const std::vector<T>& v() const { return m_v; }
  // Throws unless t >= 0 and m, v both hold size() entries.
  void set_state(long t, std::vector<T> m, std::vector<T> v);
  // Back to t = 0 with zero moments.
  void reset();

  // ||m_hat||_2 / ||sqrt(v_hat) + eps||_2 over all entries, in double: near 1 while gradients agree from step
  // to step, small when they are noise. 0 before the first step.
  double snr() const;

 private:
  AdamConfig m_config;
  Index m_n = 0;
  long m_t = 0;
  std::vector<T> m_m, m_v;
};

}  // namespace jetpinn
