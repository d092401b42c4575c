// Run folder housekeeping on resume (see run_files.h).
#include "run_files.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atomic_file.h"
#include "check.h"

namespace jetpinn {

long truncate_metrics(const std::string& path, long step) {
  std::ifstream in(path);
  if (!in.good()) return 0;
  std::string kept;
  long dropped = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    const bool keep = !in.eof() && j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
                      j["step"].get<long>() <= step;  // eof here: the last line had no '\n' (torn)
    if (keep) kept += line + "\n";
    else ++dropped;
  }
  if (dropped == 0) return 0;
  AtomicFile f(path);
  f.write(kept.data(), kept.size());
  f.commit();
  return dropped;
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().filename().string().find(".tmp-") != std::string::npos &&
        fs::remove(e.path(), ec))
      ++removed;
  return removed;
}

}  // namespace jetpinn
