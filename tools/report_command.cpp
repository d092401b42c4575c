// `jetpinn report` (see report_command.h): checks its arguments here, so that a missing run folder or venv is
// one clear line, then runs the plotting script and returns its exit status.
#include "report_command.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "check.h"

extern char** environ;

namespace jetpinn {

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

int run_report(const ReportArgs& a) {
  namespace fs = std::filesystem;
  JETPINN_CHECK(!a.runs.empty(), "report needs at least one run folder");
  for (const auto& r : a.runs)
    JETPINN_CHECK(fs::exists(fs::path(r) / "metrics.jsonl"), "report: " << r << " is not a run folder (no metrics.jsonl)");
  const std::string src = JETPINN_SOURCE_DIR;
  const std::string python = env_or("JETPINN_PYTHON", src + "/.venv/bin/python");
  const std::string script = env_or("JETPINN_REPORT_SCRIPT", src + "/tools/report.py");
  JETPINN_CHECK(::access(python.c_str(), X_OK) == 0,
                "report needs the project's Python venv with numpy and matplotlib (" << python
                                                                                     << " not found): run tools/setup.sh");
  JETPINN_CHECK(fs::exists(script), "report: the plotting script " << script << " is missing");
  const std::string out = a.out.empty() ? (fs::path(a.runs[0]) / "report").string() : a.out;
  std::vector<std::string> args{python, script};
  args.insert(args.end(), a.runs.begin(), a.runs.end());
  args.insert(args.end(), {"--out", out});
  if (!a.labels.empty()) args.insert(args.end(), {"--labels", a.labels});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ);
  JETPINN_CHECK(rc == 0, "report: could not start " << python);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace jetpinn
