// TempDir: a fresh folder under the system temp directory for one test, removed with everything in it when the
// test ends. Names carry the pid and a counter, so parallel ctest processes never share one.
#pragma once
#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    static std::atomic<unsigned> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("jetpinn-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;  // never throw from a destructor
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};
