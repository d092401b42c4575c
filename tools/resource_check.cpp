// Memory estimate and check (see resource_check.h).
#include "resource_check.h"

#include <fstream>
#include <sstream>

#include "check.h"
#include "run_setup.h"

namespace jetpinn {

namespace {
constexpr double TAPE_COPIES = 4;  // affine output + activation jets forward, and their two adjoints
constexpr double GIB = 1024.0 * 1024.0 * 1024.0;

template <class T>
double term_values(const ProblemInfo& info, const Json& cfg) {
  double v = 0;
  for (const auto& t : make_problem<T>(info, cfg)->terms(cfg))
    v += static_cast<double>(t.count) * static_cast<double>(t.streams->size());
  return v;
}

double read_number(const std::string& path) {
  std::ifstream in(path);
  double v = -1;
  return (in >> v) ? v : -1;
}
}  // namespace

double estimate_training_bytes(const ProblemInfo& info, const Json& cfg) {
  const bool f32 = cfg.at("train").at("precision") == "f32";
  const double point_streams = f32 ? term_values<float>(info, cfg) : term_values<double>(info, cfg);
  double hidden_units = 0;  // summed over the hidden layers
  for (int w : network_config(info, cfg).hidden_widths()) hidden_units += w;
  return point_streams * hidden_units * TAPE_COPIES * (f32 ? 4.0 : 8.0);
}

double available_memory_bytes() {
  double avail = -1;
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream is(line.substr(13));
      double kib = 0;
      if (is >> kib) avail = kib * 1024.0;
    }
  const double limit = read_number("/sys/fs/cgroup/memory.max");  // "max" (no limit) reads as -1
  if (limit > 0) {
    const double used = read_number("/sys/fs/cgroup/memory.current");
    const double left = limit - (used > 0 ? used : 0);
    avail = avail < 0 ? left : std::min(avail, left);
  }
  return avail;
}

void check_training_memory(const ProblemInfo& info, const Json& cfg) {
  const double need = estimate_training_bytes(info, cfg), have = available_memory_bytes();
  if (have < 0) return;  // nothing to compare with; the allocation itself will fail if it must
  std::ostringstream os;
  os.precision(3);
  os << "this run needs about " << need / GIB << " GiB for its tape (points x jet streams x hidden units x "
     << TAPE_COPIES << " copies), but only " << have / GIB
     << " GiB of memory is available; use fewer points (points.collocation), a smaller network or train.precision=f32";
  JETPINN_CHECK(need <= have, os.str());
}

}  // namespace jetpinn
