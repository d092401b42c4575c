// AtomicFile (see atomic_file.h): POSIX open/write/fsync/rename.
#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "check.h"

namespace jetpinn {

AtomicFile::AtomicFile(const std::string& path) : m_path(path) {
  static std::atomic<unsigned> counter{0};
  m_tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  JETPINN_CHECK(m_fd >= 0, "cannot create the temporary file " << m_tmp << " to write " << path << ": "
                                                                << std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed) ::unlink(m_tmp.c_str());
}

void AtomicFile::write(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(m_fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    JETPINN_CHECK(w > 0, "writing " << m_tmp << " (for " << m_path << ") failed: " << std::strerror(errno));
    p += w;
    n -= static_cast<std::size_t>(w);
    m_written += static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  JETPINN_CHECK(::fsync(m_fd) == 0, "fsync of " << m_tmp << " failed: " << std::strerror(errno));
  const int rc = ::close(m_fd);
  m_fd = -1;
  JETPINN_CHECK(rc == 0, "closing " << m_tmp << " failed: " << std::strerror(errno));
  JETPINN_CHECK(::rename(m_tmp.c_str(), m_path.c_str()) == 0,
                "renaming " << m_tmp << " to " << m_path << " failed: " << std::strerror(errno));
  m_committed = true;
  // Make the rename itself durable; a folder that cannot be opened for fsync is not an error for the data.
  std::string dir = std::filesystem::path(m_path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace jetpinn
