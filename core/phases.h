// Online detection of the training phases of the paper (fitting -> diffusion -> total diffusion) from the
// batch-gradient SNR trace. The rule, applied to s_j = the mean of log10(SNR) over the last `window`
// measurements (phi = SNR / sqrt(1 + SNR^2) is monotone in SNR, so thresholds on SNR are thresholds on phi):
//   fitting -> diffusion:          s_j < log10(diffusion_below) for `hold` consecutive measurements;
//   diffusion -> total diffusion:  s_j >= log10(total_above) and s_j >= min(s in diffusion) + log10(total_rise),
//                                  for `hold` consecutive measurements.
// Phases only move forward (hysteresis: a dip after a transition does not undo it). A transition is dated at
// its first held measurement, moved back by (window - 1) / 2 measurements for the lag of the moving mean.
#pragma once
#include <string>
#include <vector>

namespace jetpinn {

enum class Phase { Fitting = 0, Diffusion = 1, TotalDiffusion = 2 };
const char* phase_name(Phase p);  // "fitting", "diffusion", "total_diffusion"

struct PhaseRule {
  int window = 5;
  int hold = 3;
  double diffusion_below = 1.0;
  double total_above = 0.5;
  double total_rise = 10.0;
  void validate() const;
};

class PhaseDetector {
 public:
  explicit PhaseDetector(PhaseRule rule = {});
  // One measurement (steps increasing). Returns true when it confirmed a transition.
  bool add(long step, double snr);
  Phase phase() const { return m_phase; }
  long diffusion_step() const { return m_diffusion_step; }  // -1 until detected
  long total_step() const { return m_total_step; }
  const PhaseRule& rule() const { return m_rule; }
  // The measurements so far (for checkpoints: replaying them restores the detector exactly).
  const std::vector<long>& steps() const { return m_steps; }
  const std::vector<double>& snrs() const { return m_snr; }
  void replay(const std::vector<long>& steps, const std::vector<double>& snrs);

 private:
  PhaseRule m_rule;
  Phase m_phase = Phase::Fitting;
  long m_diffusion_step = -1, m_total_step = -1;
  std::vector<long> m_steps;
  std::vector<double> m_snr, m_smooth;
  int m_run = 0;            // consecutive measurements meeting the next transition's condition
  double m_min_diffusion = 0;
  void reset();
  long dated(std::size_t first_held) const;
};

}  // namespace jetpinn
