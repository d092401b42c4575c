// LrSchedule: the learning rate as a function of the optimizer step (0-based).
// constant: lr0;  step: lr0 * gamma^floor(step / every) (the paper's 1e-3 x 0.9 every 5,000 steps);
// exp: lr0 * gamma^(step / every), continuous in step. An optional linear warm-up multiplies any of them by
// min(1, (step + 1) / warmup), so step 0 already moves (lr0 / warmup) and step warmup - 1 reaches the full rate.
#pragma once
#include <string>
#include <vector>

namespace jetpinn {

enum class LrKind { Constant, Step, Exp };

const char* lr_kind_name(LrKind kind);          // "constant", "step", "exp"
LrKind parse_lr_kind(const std::string& name);  // throws listing the choices
std::vector<std::string> lr_kind_names();       // the names parse_lr_kind accepts

struct LrSchedule {
  LrKind kind = LrKind::Constant;
  double lr0 = 1e-3;
  double gamma = 0.9;  // decay factor per `every` steps (step, exp)
  long every = 5000;   // decay period in steps (step, exp)
  long warmup = 0;     // 0: no warm-up

  // The paper's schedule: 1e-3, times 0.9 every 5,000 steps.
  static LrSchedule paper() { return {LrKind::Step, 1e-3, 0.9, 5000, 0}; }

  // step >= 0; throws otherwise.
  double lr(long step) const;
  // Throws on a negative or non-finite lr0, gamma <= 0 or non-finite, every < 1, warmup < 0.
  void validate() const;
  // One line, e.g. "step: 0.001 * 0.9^floor(step / 5000), linear warm-up over 100 steps".
  std::string describe() const;
};

}  // namespace jetpinn
