#include "ops/cuda/ssd_step.cuh"

#include "core/error.h"
#include "ops/cuda/check.h"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"

// Why a kernel of its own: see gated_delta_step.cu (the chunked form's per-chunk work is almost all
// overhead for one token). Here a warp owns one state row at a time, its lanes along the row
// (coalesced), and sums y_p with a fixed shuffle tree: the same bits run to run. The arithmetic is
// the chunked form's for a chunk of one token (in = all = exp(dt A), out = 1, mixing = C . B),
// summed in another order. States kept in bf16 (ops/carried_state.h) are widened as they are read
// and rounded once as they are written.

namespace s0::ops::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kRows = 32;    // state rows per block
constexpr int kMaxNs = 1024;  // B and C of the token staged in shared memory

// Grid (ceil(P / kRows), H, n_seqs), kWarps warps.
template <typename State>
__global__ void __launch_bounds__(kWarps * 32)
    ssd_step_kernel(SsdInputs in, const int64_t* offsets, const int64_t* starts, const int64_t* finals, float* y) {
  const int s = blockIdx.z, h = blockIdx.y, H = in.H, P = in.P, Ns = in.Ns;
  const int64_t t = offsets[s];
  if (offsets[s + 1] - t != 1) return;  // the chunked kernels' sequence
  __shared__ float Bs[kMaxNs], Cs[kMaxNs];
  for (int n = threadIdx.x; n < Ns; n += blockDim.x) {
    Bs[n] = in.B[in.group_row(t, h) + n];
    Cs[n] = in.C[in.group_row(t, h) + n];
  }
  __syncthreads();
  const int64_t row = t * H + h;
  const float dt = in.dt[row], skip = in.D[h];
  const float decay = decay_factor(static_cast<double>(dt) * in.A[h]);
  const auto* start = reinterpret_cast<const State*>(starts[s]);
  auto* final_state = reinterpret_cast<State*>(finals[s]);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int end = min(P, static_cast<int>(blockIdx.x + 1) * kRows);
  for (int p = static_cast<int>(blockIdx.x) * kRows + warp; p < end; p += kWarps) {
    const float xp = in.x[row * P + p], u = dt * xp;
    const int64_t at = (static_cast<int64_t>(h) * P + p) * Ns;
    float acc = 0.0f;
#pragma unroll 8
    for (int n = lane; n < Ns; n += 32) {
      const float sv = (start ? decay * load(start + at + n) : 0.0f) + u * Bs[n];
      acc += sv * Cs[n];
      if (final_state) store(final_state + at + n, sv);
    }
    acc = warp_sum(acc);
    if (lane == 0) y[row * P + p] = acc + skip * xp;
  }
}

}  // namespace

void ssd_step(const SsdInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
              const int64_t* finals, float* y, bool bf16_states) {
  if (in.Ns > kMaxNs) fail("op ssd on cuda supports states up to ", kMaxNs, " wide, got ", in.Ns);
  if (n_seqs == 0) return;
  const dim3 grid(static_cast<unsigned>((in.P + kRows - 1) / kRows), static_cast<unsigned>(in.H),
                  static_cast<unsigned>(n_seqs));
  if (bf16_states)
    ssd_step_kernel<__nv_bfloat16><<<grid, kWarps * 32, 0, stream()>>>(in, offsets, starts, finals, y);
  else
    ssd_step_kernel<float><<<grid, kWarps * 32, 0, stream()>>>(in, offsets, starts, finals, y);
  check_launch("ssd_step_kernel");
}

}  // namespace s0::ops::cuda
