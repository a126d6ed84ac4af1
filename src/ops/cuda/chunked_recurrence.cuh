#pragma once
// What the chunked recurrences (the gated delta rule, gated_delta.cu, and SSD, ssd.cu) share on
// the device: the decay factors of a chunk (as the CPU's ops/cpu/chunk_decay.h: exponents are
// differences of cumulative sums kept in double, never positive), the sweeps' shared memory and
// state windows, the mask's decay-gradient spans, and the launch's shared-memory opt-in.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "ops/cuda/check.h"
#include "ops/cuda/chunk_plan.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

constexpr int kPad = kChunk + 1;  // row stride of [kChunk][kChunk] tiles in shared memory
// Per chunk and head: in[kChunk] = exp(gamma_i), out[kChunk] = exp(gamma_last - gamma_i), all =
// exp(gamma_last).
constexpr int kFactors = 2 * kChunk + 1;

// exp(x) for x <= 0, flushed to zero below float's normal range as on the CPU.
__device__ inline float decay_factor(double x) {
  const float f = static_cast<float>(x);
  return f < -87.33654f ? 0.0f : expf(f);
}

// gamma[i] = the sum of log_decay(m) over the chunk's tokens m <= i, in double; the block waits
// for it.
template <class LogDecay>
__device__ void chunk_gamma(int n, LogDecay log_decay, double* gamma) {
  if (threadIdx.x == 0) {
    double run = 0.0;
    for (int i = 0; i < n; ++i) gamma[i] = run += log_decay(i);
  }
  __syncthreads();
}

// exp(gamma_i - gamma_j) for j <= i, else 0.
__device__ inline float mask_at(const double* gamma, int i, int j) {
  return j <= i ? decay_factor(gamma[i] - gamma[j]) : 0.0f;
}

// Writes the chunk's factors (kFactors floats) from gamma.
__device__ inline void store_factors(const double* gamma, int n, float* factors) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    factors[i] = decay_factor(gamma[i]);
    factors[kChunk + i] = decay_factor(gamma[n - 1] - gamma[i]);
  }
  if (threadIdx.x == 0) factors[2 * kChunk] = decay_factor(gamma[n - 1]);
}

// The sequence a sweep block walks: the plan's order of grid slice blockIdx.z (chunk_plan.h).
__device__ inline int swept_sequence(const ChunkPlan& plan) { return static_cast<int>(plan.order[blockIdx.z]); }

// Whether sequence s is a single token, which the step kernels take (gated_delta_step.h,
// ssd_step.cuh) when the sweeps are told to skip such sequences.
__device__ inline bool single_token(const ChunkPlan& plan, int s) {
  return plan.base[s + 1] - plan.base[s] == 1 && plan.len[plan.base[s]] == 1;
}

__device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Calls f(r, c) for the entries e = r nc + c < nr nc of an nr x nc window that this thread takes
// (e = threadIdx.x, then every blockDim.x), stepping r and c instead of dividing by nc for each.
template <class F>
__device__ void for_window(int nr, int nc, F f) {
  if (nc <= 0) return;
  const int step_r = blockDim.x / nc, step_c = blockDim.x % nc;
  for (int r = threadIdx.x / nc, c = threadIdx.x % nc; r < nr;) {
    f(r, c);
    r += step_r;
    c += step_c;
    if (c >= nc) {
      c -= nc;
      ++r;
    }
  }
}

// Copies an nr x nc window between a shared tile (row stride tld) and a matrix in global memory
// (row stride ld, `at` its first element of the window; null: zeros when loading, nothing when
// storing). Thread e copies the same entries either way.
__device__ inline void load_window(float* tile, int tld, const float* at, int64_t ld, int nr, int nc) {
  for_window(nr, nc, [&](int r, int c) { tile[r * tld + c] = at ? at[r * ld + c] : 0.0f; });
}
__device__ inline void store_window(const float* tile, int tld, float* at, int64_t ld, int nr, int nc) {
  if (!at) return;
  for_window(nr, nc, [&](int r, int c) { at[r * ld + c] = tile[r * tld + c]; });
}

// A sweep block's shared memory: block_mma's staging, a window of the state (S or dS), a tile of
// chunk rows and the chunk's factors.
struct SweepShared {
  float *stage, *tile, *rows, *in_f, *out_f, *all;

  __device__ SweepShared(float* shared, int64_t stage_size, int tile_floats, int rows_floats)
      : stage(shared), tile(shared + stage_size), rows(tile + tile_floats), in_f(rows + rows_floats),
        out_f(in_f + kChunk), all(out_f + kChunk) {}

  // The chunk's factors, after a barrier (the previous chunk is done with them).
  __device__ void load_factors(const float* factors, int n) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      in_f[i] = factors[i];
      out_f[i] = factors[kChunk + i];
    }
    if (threadIdx.x == 0) *all = factors[2 * kChunk];
    __syncthreads();
  }
};

inline size_t sweep_shared_bytes(int64_t stage_size, int64_t tile_floats, int64_t rows_floats) {
  return sizeof(float) * static_cast<size_t>(stage_size + tile_floats + rows_floats + kFactors);
}

// Through the mask exp(gamma_i - gamma_j): row i's terms r(i, j), j < i, carry every log decay
// g_m with j < m <= i, so spans[m] = sum_{i >= m} sum_{j < m} r(i, j) (ChunkDecay::add_spans): row
// prefixes into `prefix` [kChunk][kPad], then columns (r(i, j) may read prefix[i][j + 1], which
// it replaces: the caller can evaluate the terms there beforehand). The caller's barrier makes
// spans visible.
template <class RowTerm>
__device__ void mask_spans(int n, float (*prefix)[kPad], float* spans, RowTerm r) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    float run = 0.0f;
    prefix[i][0] = 0.0f;
    for (int j = 0; j < i; ++j) prefix[i][j + 1] = run += r(i, j);
  }
  __syncthreads();
  for (int m = threadIdx.x; m < n; m += blockDim.x) {
    float sum = 0.0f;
    for (int i = m; i < n && m > 0; ++i) sum += prefix[i][m];
    spans[m] = sum;
  }
}

// Lets `kernel` take `bytes` of dynamic shared memory besides its static arrays (past 48 KB in all
// only by opting in), or fails naming the kernel when the GPU has too little.
inline void allow_shared(const void* kernel, size_t bytes, const char* name) {
  int device = 0, limit = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  S0_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  cudaFuncAttributes attributes{};
  S0_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
  if (attributes.sharedSizeBytes + bytes > static_cast<size_t>(limit))
    fail(name, " needs ", attributes.sharedSizeBytes + bytes,
         " bytes of shared memory for these head sizes, the GPU allows ", limit);
  S0_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// Launches `kernel` with `bytes` of dynamic shared memory, then checks the launch; `name` names it
// in errors.
template <class... Params, class... Args>
void launch_with_shared(void (*kernel)(Params...), dim3 grid, int threads, size_t bytes, const char* name,
                        Args... args) {
  allow_shared(reinterpret_cast<const void*>(kernel), bytes, name);
  kernel<<<grid, threads, bytes, stream()>>>(args...);
  check_launch(name);
}

// The per-(chunk, head) kernels' grid.
inline dim3 chunk_grid(const ChunkTable& t, int H) {
  return dim3(static_cast<unsigned>(t.chunks), static_cast<unsigned>(H));
}

}  // namespace s0::ops::cuda
