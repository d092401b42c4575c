// libFuzzer target: the layered configuration (pdes/config.h) as `jetpinn train` resolves it. Input byte 0
// picks the problem, byte 1 the preset (or none); the first line of the rest is a --config file (skipped when
// empty) and every further line one --set override. A resolved configuration must then give a network
// shape, trainer options and a problem, or a jetpinn::Error; nothing else may escape.
#include <sstream>

#include "check.h"
#include "config.h"
#include "fuzz_input.h"
#include "run_setup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace jetpinn;
  if (size < 2) return 0;
  static const char* problems[] = {"helmholtz", "allen-cahn", "burgers", "cavity"};
  const ProblemInfo& info = find_problem(problems[data[0] % 4]);
  std::string preset;
  std::size_t pick = data[1] % (info.presets.size() + 1);
  for (const auto& kv : info.presets)
    if (pick-- == 1) preset = kv.first;
  std::istringstream rest(std::string(reinterpret_cast<const char*>(data + 2), size - 2));
  std::string file_text;
  std::getline(rest, file_text);
  std::vector<std::string> sets;
  for (std::string line; std::getline(rest, line);) sets.push_back(line);
  try {
    Json file;
    if (!file_text.empty()) file = load_json_file(jetpinn_fuzz::as_file(file_text.data(), file_text.size()));
    const Json cfg = resolve_config(info, preset, file_text.empty() ? nullptr : &file, sets);
    (void)network_config(info, cfg);
    (void)train_options(cfg);
    (void)make_problem<double>(info, cfg);
    (void)cfg.dump(2);  // what train writes to config.json
  } catch (const Error&) {
  }
  return 0;
}
