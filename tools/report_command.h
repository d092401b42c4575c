// `jetpinn report RUN_DIR [RUN_DIR...]`: paper-style figures of run folders, drawn by tools/report.py in the
// project's venv (.venv, made by tools/setup.sh). JETPINN_PYTHON and JETPINN_REPORT_SCRIPT override where the
// interpreter and the script are looked for.
#pragma once
#include <string>
#include <vector>

namespace jetpinn {

struct ReportArgs {
  std::vector<std::string> runs;
  std::string out;     // default: RUN_DIR/report of the first run
  std::string labels;  // comma-separated, one per run
};

int run_report(const ReportArgs& args);

}  // namespace jetpinn
