// One exception type for every user-facing failure, shared by the kernels and the framework.
// Messages are single lines that name the file, key, tensor or op at fault and what was expected.
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
