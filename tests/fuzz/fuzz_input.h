// Shared by the libFuzzer targets: the readers under test take a path, so each input is written to an
// in-memory file (memfd) and read back through /proc/self/fd/N. A jetpinn::Error (a clear refusal) is the
// only acceptable failure; any other exception escapes LLVMFuzzerTestOneInput and libFuzzer reports it.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace jetpinn_fuzz {

// Path of a file holding exactly data[0, size). One memfd per process, rewritten for each input.
inline std::string as_file(const void* data, std::size_t size) {
  static const int fd = ::memfd_create("jetpinn-fuzz", 0);
  if (fd < 0) std::abort();
  if (::ftruncate(fd, 0) != 0) std::abort();
  const char* p = static_cast<const char*>(data);
  for (std::size_t off = 0; off < size;) {
    const ssize_t w = ::pwrite(fd, p + off, size - off, static_cast<off_t>(off));
    if (w <= 0) std::abort();
    off += static_cast<std::size_t>(w);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace jetpinn_fuzz
