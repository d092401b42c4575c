// LrSchedule evaluation, validation, description and kind-name parsing.
#include "schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "check.h"

namespace jetpinn {

const char* lr_kind_name(LrKind kind) {
  switch (kind) {
    case LrKind::Constant: return "constant";
    case LrKind::Step: return "step";
    case LrKind::Exp: return "exp";
  }
  return "?";
}

namespace {
constexpr LrKind LR_KINDS[] = {LrKind::Constant, LrKind::Step, LrKind::Exp};
}  // namespace

std::vector<std::string> lr_kind_names() {
  std::vector<std::string> names;
  for (LrKind k : LR_KINDS) names.emplace_back(lr_kind_name(k));
  return names;
}

LrKind parse_lr_kind(const std::string& name) {
  for (LrKind k : LR_KINDS)
    if (name == lr_kind_name(k)) return k;
  JETPINN_CHECK(false, "unknown learning-rate schedule '" << name << "'; choose constant, step or exp");
}

void LrSchedule::validate() const {
  JETPINN_CHECK(std::isfinite(lr0) && lr0 >= 0, "learning rate lr0 must be finite and >= 0, got " << lr0);
  JETPINN_CHECK(std::isfinite(gamma) && gamma > 0, "schedule gamma must be finite and > 0, got " << gamma);
  JETPINN_CHECK(every >= 1, "schedule period 'every' must be >= 1 step, got " << every);
  JETPINN_CHECK(warmup >= 0, "warm-up length must be >= 0 steps, got " << warmup);
}

double LrSchedule::lr(long step) const {
  JETPINN_CHECK(step >= 0, "learning-rate schedule asked for step " << step << "; steps count from 0");
  double base = lr0;
  // Integer division for the step kind, so the boundary (step == k * every) is exact, not a rounded ratio.
  if (kind == LrKind::Step) base = lr0 * std::pow(gamma, static_cast<double>(step / every));
  if (kind == LrKind::Exp) base = lr0 * std::pow(gamma, static_cast<double>(step) / static_cast<double>(every));
  if (warmup > 0 && step + 1 < warmup)
    base *= static_cast<double>(step + 1) / static_cast<double>(warmup);
  return base;
}

std::string LrSchedule::describe() const {
  std::ostringstream os;
  os << lr_kind_name(kind) << ": ";
  switch (kind) {
    case LrKind::Constant: os << lr0; break;
    case LrKind::Step: os << lr0 << " * " << gamma << "^floor(step / " << every << ")"; break;
    case LrKind::Exp: os << lr0 << " * " << gamma << "^(step / " << every << ")"; break;
  }
  if (warmup > 0) os << ", linear warm-up over " << warmup << " steps";
  return os.str();
}

}  // namespace jetpinn
