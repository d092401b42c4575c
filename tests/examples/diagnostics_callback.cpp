// Example (c): reading the training diagnostics through the callback. Trains the built-in Helmholtz problem
// (quick preset) and prints, at each measurement, the batch-gradient SNR, phi = SNR / sqrt(1 + SNR^2), the Adam
// SNR, the homogeneity of |r| and the phase (fitting -> diffusion -> total diffusion), flagging transitions.
// Exits 1 unless what the callback saw matches the trainer's own phase detector (same measurements, same
// SNR values, same final phase) and every value is finite and in range.
#include <cmath>
#include <cstdio>
#include <jetpinn/jetpinn.h>
#include <vector>

using namespace jetpinn;

int main() {
  Model<> model("helmholtz", {{"train", {{"iters", 400}, {"eval_every", 200}}}, {"diagnostics", {{"enabled", true}, {"every", 20}}}},
                "quick");
  std::vector<long> steps;
  std::vector<double> snrs;
  std::string phase = "fitting";
  bool in_range = true;
  model.train([&](const LoggedStep& s) {
    if (!std::isnan(s.rel_l2)) std::printf("step %4ld  relative L2 error %.3e\n", s.step, s.rel_l2);
    if (!s.diagnostics) return true;
    const Diagnostics& d = *s.diagnostics;
    std::printf("step %4ld  loss %.3e  SNR %.3e  phi %.3f  Adam SNR %.3e  phi_res %.3f  %s%s\n", s.step, s.loss, d.snr,
                d.phi, d.snr_adam, d.phi_res, d.phase.c_str(), d.transition ? "  <- transition" : "");
    in_range = in_range && std::isfinite(d.snr) && d.snr > 0 && d.phi > 0 && d.phi < 1 && std::isfinite(d.snr_adam) &&
               d.phi_res >= 0 && d.phi_res <= 1 && !d.layer_snr.empty();
    steps.push_back(s.step);
    snrs.push_back(d.snr);
    phase = d.phase;
    return true;
  });
  const PhaseDetector& detector = model.trainer().phases();
  const bool same = steps == detector.steps() && snrs == detector.snrs() && phase == phase_name(detector.phase());
  std::printf("%zu measurements, final phase %s; callback %s the trainer's detector; values %s\n", steps.size(),
              phase.c_str(), same ? "matches" : "DIFFERS FROM", in_range ? "in range" : "OUT OF RANGE");
  return same && in_range && steps.size() == 20 ? 0 : 1;
}
