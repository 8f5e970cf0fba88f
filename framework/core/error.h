// qzo::Error and fail() (kernels/error.h), and QZO_CHECK for the framework.
#pragma once
#include <string>

#include "kernels/error.h"

#define QZO_CHECK(cond, message)                     \
  do {                                               \
    if (!(cond)) ::qzo::fail(std::string(message));  \
  } while (0)
