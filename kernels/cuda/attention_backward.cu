// Causal grouped-query attention backward for Tq == Tk == T from the forward's probs, in three
// passes that need no scratch and no atomics (deterministic; each sum in the CPU's order):
//   1. per query row (b, h, t): Σ_j p_j·dp_j with dp_j = dout_t·v_j, parked in dq's first element
//      of that row until pass 3;
//   2. per key (b, kv head, j): dv_j = Σ_{h,t} p_tj·dout_t, dk_j = Σ_{h,t} ds_tj·q_t over the query
//      heads h of its group and the queries t >= j that see it, in (h, t) order;
//   3. per query row: dq_t = Σ_{j<=t} ds_tj·k_j, overwriting the parked sum.
// ds_tj = p_tj·(dp_tj − Σ p dp)·scale. Only each row's visible prefix of probs is read.
// A straightforward twin (no tensor cores): every pass is O(B·Hq·T²·head_dim).
#include <cmath>
#include <string>

#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"
#include "kernels/error.h"

namespace qzo::cuda {

namespace {

constexpr int kAttentionThreads = 128;  // one chunk of (h, t) or j entries per step
constexpr int kMaxSlots = 4;            // head_dim elements a thread accumulates
constexpr int kMaxHeadDim = kAttentionThreads * kMaxSlots;

struct AttentionShape {
  int B, T, Hq, Hkv, head_dim, group;
  int64_t q_stride, kv_stride;  // between consecutive positions of q (dq, dout) and of k (v, dk, dv)
  float scale;
  __device__ int64_t q_offset(int b, int t, int h) const { return (int64_t(b) * T + t) * q_stride + int64_t(h) * head_dim; }
  __device__ int64_t kv_offset(int b, int j, int kvh) const {
    return (int64_t(b) * T + j) * kv_stride + int64_t(kvh) * head_dim;
  }
  __device__ int64_t probs_row(int b, int h, int t) const { return ((int64_t(b) * Hq + h) * T + t) * T; }
};

// Pass 1: one thread per query row, the sum in key order.
__global__ void attention_weighted_kernel(float* dq, const float* dout, const float* v, const float* probs,
                                          AttentionShape s) {
  const int64_t rows = int64_t(s.B) * s.Hq * s.T;
  for (int64_t row = first_thread(); row < rows; row += thread_stride()) {
    const int t = int(row % s.T), h = int(row / s.T % s.Hq), b = int(row / s.T / s.Hq);
    const int64_t qo = s.q_offset(b, t, h);
    dq[qo] = attention_weighted_dscore(probs + s.probs_row(b, h, t), dout + qo, v + s.kv_offset(b, 0, h / s.group),
                                       s.kv_stride, t, s.head_dim);
  }
}

// Pass 2: one block per key (b, kvh, j). Each chunk of (h, t) entries first gets its p and ds
// (a thread per entry), then every thread adds the chunk's entries in order to its elements.
__global__ void attention_dkdv_kernel(float* dk, float* dv, const float* dq_parked, const float* dout, const float* q,
                                      const float* v, const float* probs, AttentionShape s) {
  __shared__ float vj[kMaxHeadDim];
  __shared__ float chunk_p[kAttentionThreads], chunk_ds[kAttentionThreads];
  const int j = int(blockIdx.x % s.T), kvh = int(blockIdx.x / s.T % s.Hkv), b = int(blockIdx.x / s.T / s.Hkv);
  const int64_t ko = s.kv_offset(b, j, kvh);
  for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) vj[d] = v[ko + d];
  __syncthreads();
  const int queries = s.T - j;  // t = j .. T−1 see key j
  const int entries = s.group * queries;
  float acc_k[kMaxSlots] = {}, acc_v[kMaxSlots] = {};
  for (int first = 0; first < entries; first += blockDim.x) {
    const int e = first + int(threadIdx.x);
    if (e < entries) {
      const int h = kvh * s.group + e / queries, t = j + e % queries;
      const int64_t qo = s.q_offset(b, t, h);
      const float p = probs[s.probs_row(b, h, t) + j];
      chunk_p[threadIdx.x] = p;
      chunk_ds[threadIdx.x] = attention_dscore(p, attention_dot(dout + qo, vj, s.head_dim), dq_parked[qo], s.scale);
    }
    __syncthreads();
    const int count = min(int(blockDim.x), entries - first);
    for (int c = 0; c < count; ++c) {
      const int h = kvh * s.group + (first + c) / queries, t = j + (first + c) % queries;
      const int64_t qo = s.q_offset(b, t, h);
#pragma unroll
      for (int slot = 0; slot < kMaxSlots; ++slot) {
        const int d = int(threadIdx.x) + slot * int(blockDim.x);
        if (d >= s.head_dim) break;
        acc_v[slot] += chunk_p[c] * dout[qo + d];
        acc_k[slot] += chunk_ds[c] * q[qo + d];
      }
    }
    __syncthreads();  // the chunk's entries are read before the next chunk writes them
  }
#pragma unroll
  for (int slot = 0; slot < kMaxSlots; ++slot) {
    const int d = int(threadIdx.x) + slot * int(blockDim.x);
    if (d >= s.head_dim) break;
    dk[ko + d] = acc_k[slot];
    dv[ko + d] = acc_v[slot];
  }
}

// Pass 3: one block per query row (b, h, t), over its visible keys in chunks as pass 2.
__global__ void attention_dq_kernel(float* dq, const float* dout, const float* k, const float* v, const float* probs,
                                    AttentionShape s) {
  __shared__ float dout_t[kMaxHeadDim];
  __shared__ float chunk_ds[kAttentionThreads];
  const int t = int(blockIdx.x % s.T), h = int(blockIdx.x / s.T % s.Hq), b = int(blockIdx.x / s.T / s.Hq);
  const int kvh = h / s.group;
  const int64_t qo = s.q_offset(b, t, h);
  const float* p = probs + s.probs_row(b, h, t);
  const float weighted = dq[qo];  // parked by pass 1
  for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) dout_t[d] = dout[qo + d];
  __syncthreads();  // every thread has read `weighted` before the row is overwritten below
  float acc[kMaxSlots] = {};
  for (int first = 0; first <= t; first += blockDim.x) {
    const int j = first + int(threadIdx.x);
    if (j <= t)
      chunk_ds[threadIdx.x] =
          attention_dscore(p[j], attention_dot(dout_t, v + s.kv_offset(b, j, kvh), s.head_dim), weighted, s.scale);
    __syncthreads();
    const int count = min(int(blockDim.x), t + 1 - first);
    for (int c = 0; c < count; ++c) {
      const float* kj = k + s.kv_offset(b, first + c, kvh);
#pragma unroll
      for (int slot = 0; slot < kMaxSlots; ++slot) {
        const int d = int(threadIdx.x) + slot * int(blockDim.x);
        if (d >= s.head_dim) break;
        acc[slot] += chunk_ds[c] * kj[d];
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int slot = 0; slot < kMaxSlots; ++slot) {
    const int d = int(threadIdx.x) + slot * int(blockDim.x);
    if (d >= s.head_dim) break;
    dq[qo + d] = acc[slot];
  }
}

}  // namespace

void attention_backward(Backend& be, float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, int B, int T, int Hq, int Hkv,
                        int head_dim) {
  if (B == 0 || T == 0 || head_dim == 0) return;
  if (head_dim > kMaxHeadDim)
    fail("cuda attention_backward: head_dim " + std::to_string(head_dim) + " above " + std::to_string(kMaxHeadDim));
  const AttentionShape s{B, T, Hq, Hkv, head_dim, Hq / Hkv, int64_t(Hq) * head_dim, int64_t(Hkv) * head_dim,
                         1.0f / std::sqrt(float(head_dim))};
  cudaStream_t stream = stream_of(be);
  attention_weighted_kernel<<<grid_for(int64_t(B) * Hq * T), kThreads, 0, stream>>>(dq, dout, v, probs, s);
  cuda_check(cudaGetLastError());
  attention_dkdv_kernel<<<unsigned(int64_t(B) * Hkv * T), kAttentionThreads, 0, stream>>>(dk, dv, dq, dout, q, v,
                                                                                            probs, s);
  cuda_check(cudaGetLastError());
  attention_dq_kernel<<<unsigned(int64_t(B) * Hq * T), kAttentionThreads, 0, stream>>>(dq, dout, k, v, probs, s);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
