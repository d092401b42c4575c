// Error checks for library code: JETPINN_CHECK throws jetpinn::Error whose what() is the message alone (what was
// wrong and what to do); the source location of the check is kept beside it (file(), line(), location()) for debug
// output. The driver catches, prints one line, and exits non-zero; with JETPINN_DEBUG=1 it adds the location.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace jetpinn {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg, const char* file = nullptr, int line = 0)
      : std::runtime_error(msg), m_file(file), m_line(line) {}
  // Where the check that threw sits in the source; nullptr and 0 when the thrower gave none.
  const char* file() const noexcept { return m_file; }
  int line() const noexcept { return m_line; }
  // "file:line", or "" when unknown.
  std::string location() const { return m_file ? std::string(m_file) + ":" + std::to_string(m_line) : std::string(); }

 private:
  const char* m_file;  // a string literal (__FILE__): static storage, so copying the exception cannot throw
  int m_line;
};

namespace detail {
[[noreturn]] inline void fail(const char* file, int line, const std::string& msg) { throw Error(msg, file, line); }
}  // namespace detail

}  // namespace jetpinn

// JETPINN_CHECK(cond, stream-expression): throw jetpinn::Error when cond is false.
#define JETPINN_CHECK(cond, msg)                                     \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::ostringstream jetpinn_os_;                                \
      jetpinn_os_ << msg;                                            \
      ::jetpinn::detail::fail(__FILE__, __LINE__, jetpinn_os_.str()); \
    }                                                                \
  } while (0)
