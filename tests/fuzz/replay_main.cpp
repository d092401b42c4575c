// Replays fuzz corpora without libFuzzer: linked with one target's tests/fuzz/fuzz_TARGET.cpp, it runs that
// target's LLVMFuzzerTestOneInput once on every file named on the command line or found in a named directory
// (sorted by name, not recursive), so the normal build keeps the seeds and regression inputs as ctest cases.
// Each input runs in its own child process: a crash, abort, sanitizer report, uncaught exception, a return value
// libFuzzer reserves (anything but 0 and -1) or a run past TIMEOUT_SECONDS fails that input with a line naming
// its file, and the other inputs still run. Exit status 0 when every input passed, 1 otherwise.
// Usage: fuzz_replay_TARGET CORPUS_DIR_OR_FILE...
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// tools/fuzz.sh gives libFuzzer -timeout=10 per input; a replay may run under ASan on a busy machine.
constexpr unsigned TIMEOUT_SECONDS = 120;
// Child exit statuses that say what went wrong (a sanitizer report exits 1 by default).
constexpr int EXIT_EXCEPTION = 86, EXIT_RESERVED_RETURN = 87;

// Every regular file named, or directly inside a named directory; empty after printing why on a bad argument.
std::vector<fs::path> list_inputs(int argc, char** argv, bool& ok) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(arg, ec))
        if (e.is_regular_file()) in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) {
        std::fprintf(stderr, "fuzz replay: FAIL: directory '%s' holds no input files\n", argv[i]);
        ok = false;
      }
      inputs.insert(inputs.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "fuzz replay: FAIL: '%s' is neither a file nor a directory\n", argv[i]);
      ok = false;
    }
  }
  return inputs;
}

// Runs the target on `bytes` in this (child) process and exits with its verdict; never returns.
[[noreturn]] void run_child(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  ::alarm(TIMEOUT_SECONDS);
  int rc = 0;
  try {
    rc = LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz replay: %s: uncaught exception: %s\n", name.c_str(), e.what());
    std::fflush(stderr);
    std::_Exit(EXIT_EXCEPTION);
  } catch (...) {
    std::fprintf(stderr, "fuzz replay: %s: uncaught exception of a type not derived from std::exception\n", name.c_str());
    std::fflush(stderr);
    std::_Exit(EXIT_EXCEPTION);
  }
  if (rc != 0 && rc != -1) {
    std::fprintf(stderr, "fuzz replay: %s: LLVMFuzzerTestOneInput returned %d (only 0 and -1 are allowed)\n",
                 name.c_str(), rc);
    std::fflush(stderr);
    std::_Exit(EXIT_RESERVED_RETURN);
  }
  std::exit(0);  // exit, not _Exit: LeakSanitizer checks at exit in sanitizer builds
}

// One input in a child process; "" when it passed, else why it failed.
std::string replay(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return "cannot read the file";
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) return std::string("fork failed: ") + std::strerror(errno);
  if (pid == 0) run_child(path.string(), bytes);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return std::string("waitpid failed: ") + std::strerror(errno);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGALRM) return "timed out after " + std::to_string(TIMEOUT_SECONDS) + " s";
    return "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) return "";
  if (code == EXIT_EXCEPTION) return "uncaught exception (message above)";
  if (code == EXIT_RESERVED_RETURN) return "reserved return value (message above)";
  return "exit status " + std::to_string(code) + " (a sanitizer report exits 1; see above)";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  bool ok = true;
  const std::vector<fs::path> inputs = list_inputs(argc, argv, ok);
  int failed = 0;
  for (const fs::path& p : inputs) {
    const std::string why = replay(p);
    if (why.empty()) {
      std::printf("ok    %s\n", p.string().c_str());
    } else {
      std::printf("FAIL  %s: %s\n", p.string().c_str(), why.c_str());
      ++failed;
    }
  }
  std::printf("fuzz replay: %zu inputs, %d failed\n", inputs.size(), failed);
  return ok && failed == 0 ? 0 : 1;
}
