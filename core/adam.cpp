// Adam step, checkpoint state and the SNR diagnostic.
#include "adam.h"

#include <algorithm>
#include <cmath>

#include "adam_rule.h"

namespace jetpinn {

void AdamConfig::validate() const {
  JETPINN_CHECK(std::isfinite(lr) && lr >= 0, "Adam lr must be finite and >= 0, got " << lr);
  JETPINN_CHECK(beta1 >= 0 && beta1 < 1, "Adam beta1 must be in [0, 1), got " << beta1);
  JETPINN_CHECK(beta2 >= 0 && beta2 < 1, "Adam beta2 must be in [0, 1), got " << beta2);
  JETPINN_CHECK(std::isfinite(eps) && eps >= 0, "Adam eps must be finite and >= 0, got " << eps);
}

template <class T>
Adam<T>::Adam(Index n, AdamConfig config) : m_config(config), m_n(n) {
  m_config.validate();
  JETPINN_CHECK(n >= 0, "Adam needs a non-negative parameter count, got " << n);
  m_m.assign(static_cast<std::size_t>(n), T(0));
  m_v.assign(static_cast<std::size_t>(n), T(0));
}

template <class T>
void Adam<T>::step(T* params, const T* grads, double lr) {
  JETPINN_CHECK(std::isfinite(lr) && lr >= 0, "Adam step: lr must be finite and >= 0, got " << lr);
  JETPINN_CHECK(m_n == 0 || (params && grads), "Adam step: null parameter or gradient pointer");
  ++m_t;
  const AdamStepScalars s = adam_step_scalars(m_config.beta1, m_config.beta2, m_config.eps, m_t, lr);
  for (Index i = 0; i < m_n; ++i) {
    const std::size_t k = static_cast<std::size_t>(i);
    adam_update_entry(s, params[i], grads[i], m_m[k], m_v[k]);
  }
}

template <class T>
void Adam<T>::step(ParamStore<T>& params, double lr) {
  JETPINN_CHECK(params.size() == m_n,
                "Adam step: optimizer built for " << m_n << " parameters, store holds " << params.size());
  step(params.values(), params.grads(), lr);
}

template <class T>
void Adam<T>::set_state(long t, std::vector<T> m, std::vector<T> v) {
  JETPINN_CHECK(t >= 0, "Adam state: step count must be >= 0, got " << t);
  JETPINN_CHECK(static_cast<Index>(m.size()) == m_n && static_cast<Index>(v.size()) == m_n,
                "Adam state: expected " << m_n << " entries in m and v, got " << m.size() << " and " << v.size());
  m_t = t;
  m_m = std::move(m);
  m_v = std::move(v);
}

template <class T>
void Adam<T>::reset() {
  m_t = 0;
  std::fill(m_m.begin(), m_m.end(), T(0));
  std::fill(m_v.begin(), m_v.end(), T(0));
}

template <class T>
double Adam<T>::snr() const {
  if (m_t == 0) return 0.0;
  const double bc1 = 1.0 - std::pow(m_config.beta1, static_cast<double>(m_t));
  const double bc2 = 1.0 - std::pow(m_config.beta2, static_cast<double>(m_t));
  double num = 0, den = 0;
  for (std::size_t k = 0; k < m_m.size(); ++k) {
    const double m_hat = static_cast<double>(m_m[k]) / bc1;
    const double denom = std::sqrt(static_cast<double>(m_v[k]) / bc2) + m_config.eps;
    num += m_hat * m_hat;
    den += denom * denom;
  }
  return den > 0 ? std::sqrt(num) / std::sqrt(den) : 0.0;
}

template class Adam<float>;
template class Adam<double>;

}  // namespace jetpinn
