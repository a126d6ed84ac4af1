#include "ops/cuda/gated_delta_step.h"

#include "core/error.h"
#include "ops/cuda/check.h"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/stream.h"

// Why a kernel of its own: the chunked form prepares 64-token blocks and sweeps them with the state
// tile in shared memory, which for one token is almost all overhead (on an H200 at the 4B decode
// shape, 60 us per layer at batch 1 and 700 us at batch 64, against a few microseconds of state
// traffic). Here the work is the state's traffic, so the layout serves it: a block owns whole state
// rows of one (sequence, head), kStepCols columns wide (every column of a 128-wide head), so each
// row is read and written as one contiguous run. A warp's lane holds columns lane, lane + 32, ...
// (each load instruction covers 32 consecutive floats), and the block's kStepParts warps split the
// key axis, each thread keeping its rows of those columns in registers between the read and the
// write. (A block of 32 columns by every row read 128-byte pieces 512 bytes apart and reached a
// third of an H200's bandwidth: 0.74 ms a layer at batch 256.) Both dot products over the key axis
// sum each thread's rows in order, then the warps' sums in order: the same bits run to run. The
// arithmetic is the chunked form's for a chunk of one token (in = all = exp(g), out = 1, and the
// chunk's triangular solve is the identity), summed in another order. A small batch has too few
// (sequence, head) blocks to keep the GPU busy (32 at batch 1 on the 4B shape: 16 us a layer), so
// there a block owns 32 columns instead of 128, four times the blocks; each column's sums are the
// same either way, so the bits are too.

namespace s0::ops::cuda {

namespace {

constexpr int kStepLanes = 32;
constexpr int kStepParts = 16;  // warps, splitting the key axis
// Blocks of 128 columns below which the kernel takes 32-column blocks (two per SM of an H100).
constexpr int64_t kWideBlocksWanted = 264;
// Key rows per thread, at most: kRows * kStepParts covers the head's dk. 8 (dk up to 128) keeps a
// thread within 64 registers, so that two blocks share an SM and one's reads overlap the other's
// writes; 16 takes dk up to 256.
constexpr int kStepMaxDk = kStepParts * 16;

// Grid (ceil(dv / kStepCols), H, n_seqs), kStepLanes * kStepParts threads; a block owns
// kStepCols = kStepLanes * kColsPerLane columns.
template <int kRows, int kColsPerLane>
__global__ void __launch_bounds__(kStepLanes* kStepParts, kRows <= 8 ? 2 : 1)
    gated_delta_step_kernel(GatedDeltaInputs in, const int64_t* offsets, const int64_t* starts, const int64_t* finals,
                            float* o) {
  constexpr int kStepCols = kStepLanes * kColsPerLane;
  const int s = blockIdx.z, h = blockIdx.y, H = in.H, dk = in.dk, dv = in.dv;
  const int64_t t = offsets[s];
  if (offsets[s + 1] - t != 1) return;  // the chunked kernels' sequence
  __shared__ float qs[kStepMaxDk], ks[kStepMaxDk];
  __shared__ float partial[kStepParts][kStepCols];
  __shared__ float us[kStepCols];
  const int64_t row = t * H + h;
  for (int e = threadIdx.x; e < dk; e += blockDim.x) {
    qs[e] = in.q[row * dk + e];
    ks[e] = in.k[row * dk + e];
  }
  const int lane = threadIdx.x % kStepLanes, part = threadIdx.x / kStepLanes;
  const int first_col = blockIdx.x * kStepCols;
  const float decay = decay_factor(static_cast<double>(in.g[row])), beta = in.beta[row];
  const int64_t head = static_cast<int64_t>(h) * dk * dv;
  const float* start = reinterpret_cast<const float*>(starts[s]);
  // S[i][m]: row part + i * kStepParts, column first_col + lane + m * kStepLanes.
  float S[kRows][kColsPerLane];
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int e = part + i * kStepParts;
#pragma unroll
    for (int m = 0; m < kColsPerLane; ++m) {
      const int j = first_col + lane + m * kStepLanes;
      S[i][m] = start && e < dk && j < dv ? decay * start[head + static_cast<int64_t>(e) * dv + j] : 0.0f;
    }
  }
  __syncthreads();  // q and k are in shared memory
  float acc[kColsPerLane] = {};
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int e = part + i * kStepParts;
    if (e < dk)
#pragma unroll
      for (int m = 0; m < kColsPerLane; ++m) acc[m] += ks[e] * S[i][m];
  }
#pragma unroll
  for (int m = 0; m < kColsPerLane; ++m) partial[part][lane + m * kStepLanes] = acc[m];
  __syncthreads();
  // u = beta (v - S^T k), one column per thread of the first warps.
  for (int c = threadIdx.x; c < kStepCols; c += blockDim.x) {
    const int j = first_col + c;
    float kv = 0.0f;
    for (int p = 0; p < kStepParts; ++p) kv += partial[p][c];
    us[c] = j < dv ? beta * (in.v[row * dv + j] - kv) : 0.0f;
  }
  __syncthreads();  // u is in shared memory, and every partial has been read
  float* final_state = reinterpret_cast<float*>(finals[s]);
#pragma unroll
  for (int m = 0; m < kColsPerLane; ++m) acc[m] = 0.0f;
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int e = part + i * kStepParts;
    if (e < dk)
#pragma unroll
      for (int m = 0; m < kColsPerLane; ++m) {
        const int j = first_col + lane + m * kStepLanes;
        S[i][m] += ks[e] * us[lane + m * kStepLanes];
        acc[m] += qs[e] * S[i][m];
        if (final_state && j < dv) final_state[head + static_cast<int64_t>(e) * dv + j] = S[i][m];
      }
  }
#pragma unroll
  for (int m = 0; m < kColsPerLane; ++m) partial[part][lane + m * kStepLanes] = acc[m];
  __syncthreads();
  for (int c = threadIdx.x; c < kStepCols; c += blockDim.x) {
    const int j = first_col + c;
    if (j >= dv) continue;
    float qo = 0.0f;
    for (int p = 0; p < kStepParts; ++p) qo += partial[p][c];
    o[row * dv + j] = qo;
  }
}

}  // namespace

void gated_delta_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                      const int64_t* finals, float* o) {
  if (in.dk > kStepMaxDk) fail("op gated_delta on cuda supports key heads up to ", kStepMaxDk, " wide, got ", in.dk);
  if (n_seqs == 0) return;
  const int64_t wide_blocks = (in.dv + 4 * kStepLanes - 1) / (4 * kStepLanes) * in.H * n_seqs;
  const int cols_per_lane = wide_blocks < kWideBlocksWanted ? 1 : 4;
  const dim3 grid(static_cast<unsigned>((in.dv + cols_per_lane * kStepLanes - 1) / (cols_per_lane * kStepLanes)),
                  static_cast<unsigned>(in.H), static_cast<unsigned>(n_seqs));
  const int threads = kStepLanes * kStepParts;
  const bool short_keys = in.dk <= 8 * kStepParts;
  if (cols_per_lane == 1)
    (short_keys ? gated_delta_step_kernel<8, 1> : gated_delta_step_kernel<16, 1>)<<<grid, threads, 0, stream()>>>(
        in, offsets, starts, finals, o);
  else
    (short_keys ? gated_delta_step_kernel<8, 4> : gated_delta_step_kernel<16, 4>)<<<grid, threads, 0, stream()>>>(
        in, offsets, starts, finals, o);
  check_launch("gated_delta_step_kernel");
}

}  // namespace s0::ops::cuda
