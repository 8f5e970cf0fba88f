// One exception type for every user-facing failure. Messages are single lines that
// name the file, key or tensor at fault and what was expected.
#pragma once
#include <stdexcept>
#include <string>

namespace qzo {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

}  // namespace qzo

#define QZO_CHECK(cond, message)                     \
  do {                                               \
    if (!(cond)) ::qzo::fail(std::string(message));  \
  } while (0)
