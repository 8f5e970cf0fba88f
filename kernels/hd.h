// QZO_HD marks the per-element math that a CUDA kernel and its host test share: compiled for
// host and device under nvcc, plain inline functions for the host compiler.
#pragma once
#if defined(__CUDACC__)
#define QZO_HD __host__ __device__
#else
#define QZO_HD
#endif
