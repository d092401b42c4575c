// Error checks for library code: throw std::runtime_error with file:line, the failed condition and a message
// saying what was expected. The driver catches, prints one line, and exits non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace jetpinn {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] inline void fail(const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << msg << " (" << file << ":" << line << ")";
  throw Error(os.str());
}
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
