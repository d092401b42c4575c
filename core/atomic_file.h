// AtomicFile: write a file so that readers see either the old one or the complete new one. Bytes go to a
// temporary file beside the target; commit() fsyncs it, renames it over the target and fsyncs the folder.
// Destroyed without commit() (an error path), it removes the temporary file and leaves the target untouched.
#pragma once
#include <cstddef>
#include <string>

namespace jetpinn {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  void write(const void* data, std::size_t n);
  std::size_t written() const { return m_written; }
  void commit();

 private:
  std::string m_path, m_tmp;
  int m_fd = -1;
  std::size_t m_written = 0;
  bool m_committed = false;
};

}  // namespace jetpinn
