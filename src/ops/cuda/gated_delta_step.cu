#include "ops/cuda/gated_delta_step.h"

#include "core/error.h"
#include "ops/cuda/check.h"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/stream.h"

// Why a kernel of its own: the chunked form prepares 64-token blocks and sweeps them with the state
// tile in shared memory, which for one token is almost all overhead (on an H200 at the 4B decode
// shape, 60 us per layer at batch 1 and 700 us at batch 64, against a few microseconds of state
// traffic). Here each thread keeps a column slice of the state in registers: a block owns
// kStepCols consecutive state columns of one (sequence, head), kStepSplit threads per column split
// the key axis, so a warp reads 32 consecutive floats of a state row at once. Both dot products over
// the key axis sum each thread's slice in order, then the slices in order: the same bits run to run.
// The arithmetic is the chunked form's for a chunk of one token (in = all = exp(g), out = 1, and
// the chunk's triangular solve is the identity), summed in another order.

namespace s0::ops::cuda {

namespace {

constexpr int kStepCols = 32;
constexpr int kStepSplit = 8;
constexpr int kStepMaxPer = 32;  // key entries per thread: dk up to kStepSplit * kStepMaxPer
constexpr int kStepMaxDk = kStepSplit * kStepMaxPer;

// Grid (ceil(dv / kStepCols), H, n_seqs), kStepCols * kStepSplit threads.
__global__ void __launch_bounds__(kStepCols* kStepSplit)
    gated_delta_step_kernel(GatedDeltaInputs in, const int64_t* offsets, const int64_t* starts, const int64_t* finals,
                            float* o) {
  const int s = blockIdx.z, h = blockIdx.y, H = in.H, dk = in.dk, dv = in.dv;
  const int64_t t = offsets[s];
  if (offsets[s + 1] - t != 1) return;  // the chunked kernels' sequence
  __shared__ float qs[kStepMaxDk], ks[kStepMaxDk];
  __shared__ float partial[kStepSplit][kStepCols];
  const int64_t row = t * H + h;
  for (int e = threadIdx.x; e < dk; e += blockDim.x) {
    qs[e] = in.q[row * dk + e];
    ks[e] = in.k[row * dk + e];
  }
  __syncthreads();
  const int col = threadIdx.x % kStepCols, part = threadIdx.x / kStepCols;
  const int j = blockIdx.x * kStepCols + col;
  const bool live = j < dv;
  const float decay = decay_factor(static_cast<double>(in.g[row])), beta = in.beta[row];
  const int64_t head = static_cast<int64_t>(h) * dk * dv;
  const float* start = reinterpret_cast<const float*>(starts[s]);
  float S[kStepMaxPer];
  float kv = 0.0f;
#pragma unroll
  for (int i = 0; i < kStepMaxPer; ++i) {
    const int e = part + i * kStepSplit;
    S[i] = live && e < dk && start ? decay * start[head + static_cast<int64_t>(e) * dv + j] : 0.0f;
    if (e < dk) kv += ks[e] * S[i];
  }
  partial[part][col] = kv;
  __syncthreads();
  kv = 0.0f;
  for (int p = 0; p < kStepSplit; ++p) kv += partial[p][col];
  const float u = live ? beta * (in.v[row * dv + j] - kv) : 0.0f;
  __syncthreads();  // every thread has read its column's partials
  float qo = 0.0f;
#pragma unroll
  for (int i = 0; i < kStepMaxPer; ++i) {
    const int e = part + i * kStepSplit;
    if (e < dk) {
      S[i] += ks[e] * u;
      qo += qs[e] * S[i];
    }
  }
  partial[part][col] = qo;
  float* final_state = reinterpret_cast<float*>(finals[s]);
  if (live && final_state)
#pragma unroll
    for (int i = 0; i < kStepMaxPer; ++i) {
      const int e = part + i * kStepSplit;
      if (e < dk) final_state[head + static_cast<int64_t>(e) * dv + j] = S[i];
    }
  __syncthreads();
  if (part == 0 && live) {
    qo = 0.0f;
    for (int p = 0; p < kStepSplit; ++p) qo += partial[p][col];
    o[row * dv + j] = qo;
  }
}

}  // namespace

void gated_delta_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                      const int64_t* finals, float* o) {
  if (in.dk > kStepMaxDk) fail("op gated_delta on cuda supports key heads up to ", kStepMaxDk, " wide, got ", in.dk);
  if (n_seqs == 0) return;
  const dim3 grid(static_cast<unsigned>((in.dv + kStepCols - 1) / kStepCols), static_cast<unsigned>(in.H),
                  static_cast<unsigned>(n_seqs));
  gated_delta_step_kernel<<<grid, kStepCols * kStepSplit, 0, stream()>>>(in, offsets, starts, finals, o);
  check_launch("gated_delta_step_kernel");
}

}  // namespace s0::ops::cuda
