// The phase rule (see phases.h).
#include "phases.h"

#include <algorithm>
#include <cmath>

#include "check.h"

namespace jetpinn {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Fitting: return "fitting";
    case Phase::Diffusion: return "diffusion";
    case Phase::TotalDiffusion: return "total_diffusion";
  }
  return "?";
}

void PhaseRule::validate() const {
  JETPINN_CHECK(window >= 1 && hold >= 1, "phase rule: window and hold must be >= 1");
  JETPINN_CHECK(diffusion_below > 0 && total_above > 0 && total_rise >= 1,
                "phase rule: thresholds must be positive and the rise >= 1");
}

PhaseDetector::PhaseDetector(PhaseRule rule) : m_rule(rule) { m_rule.validate(); }

void PhaseDetector::reset() {
  m_phase = Phase::Fitting;
  m_diffusion_step = m_total_step = -1;
  m_steps.clear();
  m_snr.clear();
  m_smooth.clear();
  m_run = 0;
  m_min_diffusion = 0;
}

long PhaseDetector::dated(std::size_t first_held) const {
  const std::size_t back = static_cast<std::size_t>((m_rule.window - 1) / 2);
  return m_steps[first_held >= back ? first_held - back : 0];
}

bool PhaseDetector::add(long step, double snr) {
  JETPINN_CHECK(m_steps.empty() || step > m_steps.back(), "phase detector: steps must increase");
  m_steps.push_back(step);
  m_snr.push_back(snr);
  // log10 of a non-finite or zero SNR is clamped so one bad measurement cannot poison the mean.
  auto lg = [](double v) { return std::isfinite(v) && v > 0 ? std::clamp(std::log10(v), -12.0, 12.0) : (v > 0 ? 12.0 : -12.0); };
  const std::size_t n = m_snr.size(), w = std::min<std::size_t>(n, static_cast<std::size_t>(m_rule.window));
  double s = 0;
  for (std::size_t k = n - w; k < n; ++k) s += lg(m_snr[k]);
  s /= static_cast<double>(w);
  m_smooth.push_back(s);
  const std::size_t j = n - 1;
  if (m_phase == Phase::Fitting) {
    m_run = s < std::log10(m_rule.diffusion_below) ? m_run + 1 : 0;
    if (m_run >= m_rule.hold) {
      const std::size_t first = j + 1 - static_cast<std::size_t>(m_rule.hold);
      m_phase = Phase::Diffusion;
      m_diffusion_step = dated(first);
      m_min_diffusion = *std::min_element(m_smooth.begin() + static_cast<std::ptrdiff_t>(first), m_smooth.end());
      m_run = 0;
      return true;
    }
    return false;
  }
  if (m_phase == Phase::Diffusion) {
    const bool up = s >= std::log10(m_rule.total_above) && s >= m_min_diffusion + std::log10(m_rule.total_rise);
    m_run = up ? m_run + 1 : 0;
    if (!up) m_min_diffusion = std::min(m_min_diffusion, s);
    if (m_run >= m_rule.hold) {
      m_phase = Phase::TotalDiffusion;
      m_total_step = dated(j + 1 - static_cast<std::size_t>(m_rule.hold));
      m_run = 0;
      return true;
    }
  }
  return false;
}

void PhaseDetector::replay(const std::vector<long>& steps, const std::vector<double>& snrs) {
  JETPINN_CHECK(steps.size() == snrs.size(), "phase detector: " << steps.size() << " steps but " << snrs.size() << " SNR values");
  reset();
  for (std::size_t k = 0; k < steps.size(); ++k) add(steps[k], snrs[k]);
}

}  // namespace jetpinn
