#include "framework/core/dtype.h"

#include <cmath>

#include "framework/core/error.h"

namespace qzo {

DType dtype_from_name(const std::string& name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    if (dtype_name(t) == name) return t;
  fail("unknown dtype '" + name + "' (expected F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
}

DType storage_dtype_from_config(const std::string& name) {
  if (name == "f32" || name == "fp32" || name == "float32") return DType::F32;
  if (name == "bf16" || name == "bfloat16") return DType::BF16;
  if (name == "f16" || name == "fp16" || name == "float16") return DType::F16;
  fail("unknown storage dtype '" + name + "' (expected f32, bf16 or fp16)");
}

}  // namespace qzo
