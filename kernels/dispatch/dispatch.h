// QZO_DISPATCH(be, op, cpu-args...) runs qzo::cuda::op(be, args...) on a CUDA backend and
// qzo::cpu::op(cpu-args...) on the CPU; CPU_ONLY rejects other backends by name.
#pragma once
#include <stdexcept>
#include <string>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/cpu_weights.h"
#if defined(QZO_HAVE_CUDA)
#include "kernels/cuda/cuda_ops.h"
#define QZO_CUDA_BRANCH(be, op, ...) \
  if ((be).kind() == BackendKind::Cuda) return cuda::op((be), __VA_ARGS__);
#else
#define QZO_CUDA_BRANCH(be, op, ...)
#endif

#define QZO_DISPATCH(be, cpu_args, op, ...) \
  do {                                      \
    QZO_CUDA_BRANCH(be, op, __VA_ARGS__)    \
    return cpu::op cpu_args;                \
  } while (0)

namespace qzo::ops {

inline void require_cpu(const Backend& be, const char* op) {
  if (be.kind() != BackendKind::Cpu)
    throw std::runtime_error(std::string(op) + " runs on the CPU backend only, not on " + be.name());
}

}  // namespace qzo::ops
