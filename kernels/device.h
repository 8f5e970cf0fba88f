// Which accelerators this process can use. Without a GPU (or without a CUDA build)
// the count is zero and `why` says so; callers skip GPU work with that message.
#pragma once
#include <string>

namespace qzo {

int cuda_device_count(std::string* why = nullptr);

}  // namespace qzo
