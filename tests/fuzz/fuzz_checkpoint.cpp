// libFuzzer target: the checkpoint reader (core/checkpoint.h) and what `train --resume` and `eval` do with
// what it returns (Trainer::load into a tiny Helmholtz run and one step, the params lookup). Input byte 0 picks the mode:
// odd, the rest is a checkpoint body whose FNV-1a checksum this target appends (so mutations reach the sizes
// and entries behind the checksum); even, the rest is the file as is. Anything but a loaded state or a
// jetpinn::Error is a finding.
#include <cstring>
#include <vector>

#include "check.h"
#include "checkpoint.h"
#include "config.h"
#include "fuzz_input.h"
#include "run_setup.h"

namespace {

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// The tiny run of tests/cli: Helmholtz, depth 1, width 4, 16 + 8 points.
void load_into_trainer(const jetpinn::Checkpoint& ck) {
  using namespace jetpinn;
  static const Json cfg = resolve_config(find_problem("helmholtz"), "quick", nullptr,
                                         {"net.depth=1", "net.width=4", "points.collocation=16", "points.boundary=8"});
  const ProblemInfo& info = find_problem("helmholtz");
  auto problem = make_problem<double>(info, cfg);
  Mlp<double> net(network_config(info, cfg), 1);
  problem->configure_network(net, cfg);
  Trainer<double> trainer(net, problem->terms(cfg), train_options(cfg), 2);
  trainer.load(ck);
  trainer.step();  // a loaded state must train (or report a NaN in StepStats::bad), never read out of bounds
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::vector<std::uint8_t> file(data + 1, data + size);
  if (data[0] & 1) {
    const std::uint64_t h = fnv1a(file.data(), file.size());
    const auto* b = reinterpret_cast<const std::uint8_t*>(&h);
    file.insert(file.end(), b, b + 8);
  }
  const std::string path = jetpinn_fuzz::as_file(file.data(), file.size());
  try {
    const jetpinn::Checkpoint ck = jetpinn::Checkpoint::read(path, (data[0] & 2) ? "helmholtz" : "");
    if (ck.has("params")) (void)ck.get_sized<double>("params", 17);
    load_into_trainer(ck);
  } catch (const jetpinn::Error&) {
  }
  return 0;
}
