#pragma once
// The token-by-token form of a linear recurrence with a matrix state, used by SSD (the gated delta
// rule runs in chunks, gated_delta.cu): sequential over time, parallel over sequences x heads x
// state columns, in f32.
//
// A Rule keeps its state as [R][W] (row-major, in global scratch): column w evolves on its own
// (one thread each, coalesced over w), and the read-outs reduce over the R rows of a column. It
// provides
//   H, R, W                                   heads, rows and columns of one head's state
//   external(r, w)                            where element (r, w) sits in a [state] tensor
//   advance(prev, next, row, h, w, emit)      column w from the state before token `row` to the one
//                                             after it (next may be prev); emit writes the output
//   backward_token(prev, dS, row, h, shared)  called by the whole block: with dS = dLoss/d(state
//                                             after the token), writes the token's input gradients
//                                             and leaves dS = dLoss/d(state before it)
//
// The backward never forms a difference of cumulative decays: each token's decay gradient is the
// inner product of dS with the decayed state, which carries that token's factor, as on the CPU.
//
// Memory of the backward: per sequence and head, ceil(T / kCheckpointEvery) states kept by a first
// forward sweep, kCheckpointEvery states of the segment being swept back, and dS: about
// (T / 16 + 17) * R * W floats. Every sum has a fixed order, so results repeat bit for bit.
#include <cstdint>

#include "ops/cuda/check.h"
#include "ops/cuda/recurrence_tables.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

constexpr int kSweepThreads = 128;

template <class Rule>
__device__ void load_column(const Rule& rule, const float* start, int64_t h, int64_t w, float* S) {
  for (int64_t r = 0; r < rule.R; ++r)
    S[r * rule.W + w] = start ? start[h * rule.R * rule.W + rule.external(r, w)] : 0.0f;
}

template <class Rule>
__device__ void store_column(const Rule& rule, const float* S, int64_t h, int64_t w, float* out) {
  if (!out) return;
  for (int64_t r = 0; r < rule.R; ++r) out[h * rule.R * rule.W + rule.external(r, w)] = S[r * rule.W + w];
}

// Grid (column blocks, H, n_seqs); `states` holds one [R][W] state per sequence and head.
template <class Rule>
__global__ void recurrence_forward_kernel(Rule rule, const int64_t* offsets, const int64_t* starts,
                                          const int64_t* finals, float* states) {
  const int64_t s = blockIdx.z, h = blockIdx.y, w = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (w >= rule.W) return;
  float* S = states + (s * rule.H + h) * rule.R * rule.W;
  load_column(rule, reinterpret_cast<const float*>(starts[s]), h, w, S);
  for (int64_t row = offsets[s]; row < offsets[s + 1]; ++row) rule.advance(S, S, row, h, w, true);
  store_column(rule, S, h, w, reinterpret_cast<float*>(finals[s]));
}

// Grid (H, n_seqs), one block per sequence and head (the read-out gradients reduce over columns).
template <class Rule>
__global__ void recurrence_backward_kernel(Rule rule, const int64_t* offsets, const int64_t* starts,
                                           const int64_t* d_initial, const int64_t* checkpoint_base,
                                           float* checkpoints, float* segments, float* d_states) {
  extern __shared__ float shared[];
  const int64_t h = blockIdx.x, s = blockIdx.y, RW = rule.R * rule.W;
  const int64_t b = offsets[s], T = offsets[s + 1] - b;
  const int64_t n_ck = T > 0 ? (T + kCheckpointEvery - 1) / kCheckpointEvery : 1;
  float* ck = checkpoints + checkpoint_base[s] * rule.H * RW + h * n_ck * RW;  // [n_ck][R][W]
  float* seg = segments + (s * rule.H + h) * kCheckpointEvery * RW;           // [16][R][W]
  float* dS = d_states + (s * rule.H + h) * RW;
  for (int64_t w = threadIdx.x; w < rule.W; w += blockDim.x) {
    load_column(rule, reinterpret_cast<const float*>(starts[s]), h, w, ck);
    for (int64_t r = 0; r < rule.R; ++r) dS[r * rule.W + w] = 0.0f;
    for (int64_t c = 1; c < n_ck; ++c) {
      for (int64_t r = 0; r < rule.R; ++r) ck[c * RW + r * rule.W + w] = ck[(c - 1) * RW + r * rule.W + w];
      for (int64_t t = (c - 1) * kCheckpointEvery; t < c * kCheckpointEvery; ++t)
        rule.advance(ck + c * RW, ck + c * RW, b + t, h, w, false);
    }
  }
  for (int64_t c = n_ck - 1; c >= 0; --c) {
    const int64_t first = c * kCheckpointEvery, len = T - first < kCheckpointEvery ? T - first : kCheckpointEvery;
    __syncthreads();  // the previous segment's last token is done reading `seg`
    // seg[u] = the state before token first + u.
    for (int64_t w = threadIdx.x; w < rule.W; w += blockDim.x) {
      for (int64_t r = 0; r < rule.R; ++r) seg[r * rule.W + w] = ck[c * RW + r * rule.W + w];
      for (int64_t u = 1; u < len; ++u) rule.advance(seg + (u - 1) * RW, seg + u * RW, b + first + u - 1, h, w, false);
    }
    __syncthreads();
    for (int64_t u = len - 1; u >= 0; --u) rule.backward_token(seg + u * RW, dS, b + first + u, h, shared);
  }
  __syncthreads();
  for (int64_t w = threadIdx.x; w < rule.W; w += blockDim.x)
    store_column(rule, dS, h, w, reinterpret_cast<float*>(d_initial[s]));
}

template <class Rule>
void run_recurrence_forward(const Rule& rule, const RecurrenceTables& t, Device device) {
  if (t.n_seqs == 0) return;
  Tensor states = Tensor::empty({t.n_seqs * rule.H * rule.R * rule.W}, DType::F32, device);
  const dim3 grid(static_cast<unsigned>((rule.W + kSweepThreads - 1) / kSweepThreads), static_cast<unsigned>(rule.H),
                  static_cast<unsigned>(t.n_seqs));
  recurrence_forward_kernel<<<grid, kSweepThreads, 0, stream()>>>(
      rule, static_cast<const int64_t*>(t.offsets.device_raw()), static_cast<const int64_t*>(t.starts.device_raw()),
      static_cast<const int64_t*>(t.outs.device_raw()), static_cast<float*>(states.device_raw_mut()));
  check_launch("recurrence_forward_kernel");
}

// `shared_floats`: what the rule's backward_token uses of the block's shared memory.
template <class Rule>
void run_recurrence_backward(const Rule& rule, const RecurrenceTables& t, Device device, int64_t shared_floats) {
  if (t.n_seqs == 0) return;
  const int64_t RW = rule.R * rule.W;
  Tensor checkpoints = Tensor::empty({t.checkpoints * rule.H * RW}, DType::F32, device);
  Tensor segments = Tensor::empty({t.n_seqs * rule.H * kCheckpointEvery * RW}, DType::F32, device);
  Tensor d_states = Tensor::empty({t.n_seqs * rule.H * RW}, DType::F32, device);
  const size_t shared_bytes = static_cast<size_t>(shared_floats) * sizeof(float);
  if (shared_bytes > 48 * 1024)
    S0_CUDA_CHECK(cudaFuncSetAttribute(recurrence_backward_kernel<Rule>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(shared_bytes)));
  const dim3 grid(static_cast<unsigned>(rule.H), static_cast<unsigned>(t.n_seqs));
  recurrence_backward_kernel<<<grid, kSweepThreads, shared_bytes, stream()>>>(
      rule, static_cast<const int64_t*>(t.offsets.device_raw()), static_cast<const int64_t*>(t.starts.device_raw()),
      static_cast<const int64_t*>(t.outs.device_raw()), static_cast<const int64_t*>(t.checkpoint_base.device_raw()),
      static_cast<float*>(checkpoints.device_raw_mut()), static_cast<float*>(segments.device_raw_mut()),
      static_cast<float*>(d_states.device_raw_mut()));
  check_launch("recurrence_backward_kernel");
}

}  // namespace s0::ops::cuda
