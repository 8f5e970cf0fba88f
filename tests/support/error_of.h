// The message of the qzo::Error that f throws: tests assert what a user would read.
// A call that throws nothing fails the test and returns "(no error)".
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "framework/core/error.h"

namespace qzo {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected qzo::Error";
  return "(no error)";
}

}  // namespace qzo
