// Names of the stored-tensor element types (kernels/dtype.h holds the types and their
// conversions), in safetensors' and the configs' spellings.
#pragma once
#include <string>

#include "kernels/dtype.h"

namespace qzo {

DType dtype_from_name(const std::string& name);  // throws qzo::Error on unknown names
// User-facing spelling in configs ("f32", "bf16", "fp16", "f16") -> DType.
DType storage_dtype_from_config(const std::string& name);

}  // namespace qzo
