#include "ops/cuda/attention_decode.h"

#include <mutex>
#include <set>

#include "ops/cuda/async_copy.cuh"
#include "ops/cuda/attention.h"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

constexpr int kWarps = 4;
// Keys a warp folds into its running max and sum at once (a round): their scores are reduced over
// the warp together. Part of the arithmetic's order, hence of the bits.
constexpr int kKeysInFlight = 4;
// Query heads a block serves from each key it reads (the 4B shape's 16 / 4 heads in one block per
// KV head; a larger group takes several blocks).
constexpr int kGroup = 4;
// Chunks are multiples of 32 keys (two rounds of the block's warps), at least 64 and at most 64 a
// sequence: a sequence of up to 4096 keys is cut in chunks of 64, longer ones in chunks of 96, 128,
// ... so the partials stay small beside the keys they summarise. The size depends on the key count
// alone. (Chunks of 32 below 2048 keys, as first written, cost a batch of 256 at 250-450 keys 0.383
// ms a layer against 0.333 (cuda_attention_bench, H200), and its sampled decode step 19.2-19.6 ms
// against 18.8-19.1 at 400 keys; batch 1 the same. Chunks of 128 there were faster still at 256
// (18.5-18.7 ms) and 2% slower at batch 1, whose few sequences need the blocks.)
constexpr int64_t kChunkUnit = 2 * kWarps * kKeysInFlight;
constexpr int64_t kMinChunkKeys = 2 * kChunkUnit;
constexpr int64_t kMaxChunks = 64;

__host__ __device__ inline int64_t chunk_keys(int64_t n_keys) {
  const int64_t wide = kChunkUnit * ((n_keys + kChunkUnit * kMaxChunks - 1) / (kChunkUnit * kMaxChunks));
  return wide > kMinChunkKeys ? wide : kMinChunkKeys;
}

// A lane's share of a row of D floats: P pieces of W consecutive floats, piece i at W (lane + 32 i);
// W = 4 reads each piece as one float4. Elements past D read as 0 and add nothing.
template <int W, int P>
__device__ inline void load_slice(const float* row, int64_t D, int lane, bool in, float (&x)[W * P]) {
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t e = W * (lane + 32 * i);
    if constexpr (W == 4) {
      const float4 v = in && e < D ? __ldg(reinterpret_cast<const float4*>(row + e)) : make_float4(0, 0, 0, 0);
      x[4 * i] = v.x;
      x[4 * i + 1] = v.y;
      x[4 * i + 2] = v.z;
      x[4 * i + 3] = v.w;
    } else {
#pragma unroll
      for (int t = 0; t < W; ++t) x[W * i + t] = in && e + t < D ? __ldg(row + e + t) : 0.0f;
    }
  }
}

// The warp's totals of N values (each lane holding its part of each), every lane getting all N,
// bit for bit what a butterfly gives (v += its xor partner's v at offsets 16, 8, .. 1, 5 N
// shuffles) in fewer shuffles: 32 for 16 values instead of 80. While a lane holds more than one
// value, the partners at offset o split them: the lane with bit o set keeps the upper half, sends
// the lower half and adds its partner's upper half, so every add is one the butterfly makes (in
// the other operand order, which a float add ignores). Lane L is left with the total of value
// L / (32 / N), which every lane then takes from the first lane holding it.
template <int N>
__device__ inline void warp_sum_each(float (&v)[N], int lane) {
  static_assert(N >= 1 && N <= 32 && (N & (N - 1)) == 0, "a power of two of values, at most the warp's lanes");
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const int kept = N * o / 32;  // values a lane keeps at offset o; 0: one left, summed as the butterfly
    const bool upper = lane & o;
#pragma unroll
    for (int k = 0; k < N / 2; ++k)
      if (k < kept) {
        const float lower_v = v[k], upper_v = v[k + kept];
        v[k] = (upper ? upper_v : lower_v) + __shfl_xor_sync(0xffffffffu, upper ? lower_v : upper_v, o);
      }
    if (kept == 0) v[0] += __shfl_xor_sync(0xffffffffu, v[0], o);
  }
  const float mine = v[0];
#pragma unroll
  for (int i = 0; i < N; ++i) v[i] = __shfl_sync(0xffffffffu, mine, i * (32 / N));
}

// Keys a block stages in shared memory at once (their keys' and values' rows): a whole chunk up to
// 2048 keys, a piece of a longer one. Staged by cp.async at the block's start, together with the
// query rows' loads, they cost one memory round trip, and the block holds 168 registers, three
// blocks an SM. Read into registers a round at a time, straight from global memory, each block held
// 231 registers (two an SM) and waited for two round trips: at batch 256 over 250-450 keys on an
// H200, 0.44 ms a step (2.1 TB/s under ncu) against 0.37-0.39 ms (2.6 TB/s), the same bits. Only
// the chunk's own keys are staged (a short chunk's missing rows read as zeros); staging zeros for
// them, or asking for the largest shared-memory carveout, measured no better.
constexpr int kStagedKeys = kChunkUnit;

// Piece i of a lane's share of a staged row (as load_slice reads it from global memory: W floats
// at W (lane + 32 i), zeros past D, and zeros for a key past the chunk, whose row is not staged),
// bf16 rows widened.
template <int W, typename Cached>
__device__ inline void read_piece(const Cached* row, int64_t D, int lane, int i, bool in, float (&x)[W]) {
  const int64_t e = W * (lane + 32 * i);
  if constexpr (W == 4) {
    const float4 v = in && e < D ? load4(row + e) : make_float4(0, 0, 0, 0);
    x[0] = v.x;
    x[1] = v.y;
    x[2] = v.z;
    x[3] = v.w;
  } else {
#pragma unroll
    for (int t = 0; t < W; ++t) x[t] = in && e + t < D ? load(row + e + t) : 0.0f;
  }
}

// Starts staging keys p0 .. p0 + kStagedKeys - 1 that come before `last`: key i's row at
// staged + 2 i D, its value's at + D. 16-byte copies when aligned, else plain loads. Each thread
// walks its (row, piece) pairs by adding, not dividing: a division per copy (64-bit, as first
// written) made the staging cost more instructions than the attention's arithmetic.
template <typename Cached>
__device__ inline void stage_keys(Cached* staged, const Cached* keys, const Cached* values, int64_t p0, int64_t last,
                                  int D, int64_t ld, bool aligned) {
  const int width = aligned ? 16 / static_cast<int>(sizeof(Cached)) : 1;  // elements a copy moves
  const int pieces = D / width, threads = static_cast<int>(blockDim.x);
  const int row_step = threads / pieces, piece_step = threads % pieces;
  const int rows = 2 * static_cast<int>(min(static_cast<int64_t>(kStagedKeys), last - p0));
  int row = static_cast<int>(threadIdx.x) / pieces, piece = static_cast<int>(threadIdx.x) % pieces;
  for (; row < rows; row += row_step, piece += piece_step) {
    if (piece >= pieces) {
      piece -= pieces;
      ++row;
      if (row >= rows) break;
    }
    const int e = width * piece;
    const Cached* from = (row % 2 ? values : keys) + (p0 + row / 2) * ld + e;
    Cached* to = staged + row * D + e;
    if (aligned)
      copy16_async(to, from, true);
    else
      *to = *from;
  }
}

// One block per (chunk, KV head kh, part of its query heads): warp w takes the chunk's keys
// first + w + kWarps (kKeysInFlight r + u), kKeysInFlight at a time; per head a running max m and sum
// l fold them in, the keys of one round in order. The warps' partials merge in warp order into the
// chunk's partial (unnormalised: merged again per sequence). A sequence cut in one chunk writes its
// output and lse here instead, and the merge leaves it alone. Dynamic shared memory: the staged
// keys (kStagedKeys * 2 * D elements of the cache's type), then the warps' accumulators (floats) in
// the same place. bf16 rows take half the shared memory, so four blocks an SM fit where float32's
// three do: asked for, they hold 128 registers instead of 168 (no spills).
template <int W, int P, typename Cached>
__global__ void __launch_bounds__(kWarps * 32, sizeof(Cached) == 2 ? 4 : 0)
    attention_decode_chunk_kernel(DecodeArgs a, const float* q, float* part_ml, float* part_acc, float* out,
                                  float* lse) {
  constexpr int E = W * P;
  extern __shared__ float4 shared_quads[];
  Cached* staged = reinterpret_cast<Cached*>(shared_quads);
  const int64_t c = blockIdx.x, s = a.chunk_seq[c], n_keys = a.past[s] + 1, size = chunk_keys(n_keys);
  const int64_t first = (c - a.chunk_begin[s]) * size, last = min(first + size, n_keys);
  const int64_t group = a.H / a.Hkv, parts = (group + kGroup - 1) / kGroup;
  const int64_t kh = blockIdx.y / parts, h0 = kh * group + blockIdx.y % parts * kGroup;
  const int heads = static_cast<int>(min(static_cast<int64_t>(kGroup), kh * group + group - h0));
  const int D = static_cast<int>(a.D);
  const int64_t ld = a.Hkv * D;
  const Cached* keys = reinterpret_cast<const Cached*>(a.keys[s]) + kh * D;
  const Cached* values = reinterpret_cast<const Cached*>(a.values[s]) + kh * D;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  stage_keys(staged, keys, values, first, last, D, ld, a.aligned);
  commit_stage();
  float qv[kGroup][E], acc[kGroup][E], m[kGroup], l[kGroup];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    load_slice<W, P>(q + (s * a.H + h0 + g) * D, D, lane, g < heads, qv[g]);
#pragma unroll
    for (int e = 0; e < E; ++e) acc[g][e] = 0.0f;
    m[g] = -INFINITY;
    l[g] = 0.0f;
  }
  for (int64_t p0 = first; p0 < last; p0 += kStagedKeys) {
    if (p0 != first) {
      __syncthreads();  // every warp is done with the last piece's rows
      stage_keys(staged, keys, values, p0, last, D, ld, a.aligned);
      commit_stage();
    }
    wait_stages<0>();
    __syncthreads();  // every thread's rows have landed
#pragma unroll
    for (int r = 0; r < kStagedKeys / (kWarps * kKeysInFlight); ++r) {
      const int64_t j = p0 + warp + kWarps * kKeysInFlight * r;
      if (j >= last) continue;
      const Cached* rows = staged + 2 * (j - p0) * D;  // key u's row at rows + 2 kWarps u D, its value's at + D
      // score[kKeysInFlight g + u]: head g's dot with key u (its products in the order of e = W i + t),
      // all reduced over the warp together.
      float score[kGroup * kKeysInFlight];
#pragma unroll
      for (int x = 0; x < kGroup * kKeysInFlight; ++x) score[x] = 0.0f;
#pragma unroll
      for (int u = 0; u < kKeysInFlight; ++u)
#pragma unroll
        for (int i = 0; i < P; ++i) {
          float kx[W];
          read_piece<W>(rows + 2 * kWarps * u * D, D, lane, i, j + kWarps * u < last, kx);
#pragma unroll
          for (int g = 0; g < kGroup; ++g)
#pragma unroll
            for (int t = 0; t < W; ++t)
              score[kKeysInFlight * g + u] = fmaf(qv[g][W * i + t], kx[t], score[kKeysInFlight * g + u]);
        }
      warp_sum_each(score, lane);
      float carry[kGroup];
#pragma unroll
      for (int g = 0; g < kGroup; ++g) {
        float* p = score + kKeysInFlight * g;
        // Key u = 0 is always in the chunk, so the new max is finite; keys past it weigh 0.
        float top = m[g];
#pragma unroll
        for (int u = 0; u < kKeysInFlight; ++u) {
          p[u] = j + kWarps * u < last ? a.scale * p[u] : -INFINITY;
          top = fmaxf(top, p[u]);
        }
        carry[g] = expf(m[g] - top);  // 0 at the warp's first round (m = -inf)
        float sum = 0.0f;
#pragma unroll
        for (int u = 0; u < kKeysInFlight; ++u) {
          p[u] = expf(p[u] - top);
          sum += p[u];
        }
        l[g] = l[g] * carry[g] + sum;
        m[g] = top;
      }
      // acc = acc carry + sum over u of p[u] v_u, the keys in order.
#pragma unroll
      for (int i = 0; i < P; ++i) {
        float vx[kKeysInFlight][W];
#pragma unroll
        for (int u = 0; u < kKeysInFlight; ++u)
          read_piece<W>(rows + (2 * kWarps * u + 1) * D, D, lane, i, j + kWarps * u < last, vx[u]);
#pragma unroll
        for (int g = 0; g < kGroup; ++g)
#pragma unroll
          for (int t = 0; t < W; ++t) {
            float x = acc[g][W * i + t] * carry[g];
#pragma unroll
            for (int u = 0; u < kKeysInFlight; ++u) x = fmaf(score[kKeysInFlight * g + u], vx[u][t], x);
            acc[g][W * i + t] = x;
          }
      }
    }
  }

  // Every chunk has a key, so the loop ran and waited for its copies: none is in flight here.
  __syncthreads();  // the staged rows are read: the warps' accumulators take their place
  __shared__ float warp_m[kWarps][kGroup], warp_l[kWarps][kGroup];
  float* warp_acc = reinterpret_cast<float*>(shared_quads);  // [kWarps][kGroup][D]
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    if (lane == 0) {
      warp_m[warp][g] = m[g];
      warp_l[warp][g] = l[g];
    }
#pragma unroll
    for (int i = 0; i < P; ++i)
#pragma unroll
      for (int t = 0; t < W; ++t) {
        const int64_t e = W * (lane + 32 * i) + t;
        if (e < D) warp_acc[(warp * kGroup + g) * D + e] = acc[g][W * i + t];
      }
  }
  __syncthreads();
  const bool whole = a.chunk_begin[s + 1] - a.chunk_begin[s] == 1;
  for (int g = 0; g < heads; ++g) {
    // The warps' weights: a warp with no key of a short last chunk has l = 0 and adds nothing.
    float top = -INFINITY;
    for (int w = 0; w < kWarps; ++w) top = fmaxf(top, warp_m[w][g]);
    float f[kWarps], sum = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      f[w] = warp_l[w][g] > 0.0f ? expf(warp_m[w][g] - top) : 0.0f;
      if (warp_l[w][g] > 0.0f) sum += warp_l[w][g] * f[w];
    }
    const int64_t row = s * a.H + h0 + g, at = c * a.H + h0 + g;
    for (int e = threadIdx.x; e < D; e += blockDim.x) {
      float o = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w)
        if (warp_l[w][g] > 0.0f) o += warp_acc[(w * kGroup + g) * D + e] * f[w];
      if (whole) {
        // What the merge makes of one chunk, bit for bit: its weight is expf(top - top) = 1 and o is
        // never -0 (it starts at +0), so the merge's o and sum are these.
        out[row * D + e] = o / sum;
        if (e == 0) lse[row] = top + logf(sum);
      } else {
        part_acc[at * D + e] = o;
        if (e == 0) {
          part_ml[2 * at] = top;
          part_ml[2 * at + 1] = sum;
        }
      }
    }
  }
}

// One block per (sequence, query head): the sequence's chunk partials merged in chunk order, then
// normalised; lse = max + log(sum). A sequence of one chunk has its output already (the chunk
// kernel's) and no partials.
__global__ void attention_decode_merge_kernel(DecodeArgs a, const float* part_ml, const float* part_acc, float* out,
                                              float* lse) {
  const int64_t s = blockIdx.x / a.H, h = blockIdx.x % a.H;
  const int64_t c0 = a.chunk_begin[s], n = a.chunk_begin[s + 1] - c0;
  if (n == 1) return;
  __shared__ float weight[kMaxChunks];
  float top = -INFINITY;
  for (int64_t c = 0; c < n; ++c) top = fmaxf(top, part_ml[2 * ((c0 + c) * a.H + h)]);
  for (int64_t c = threadIdx.x; c < n; c += blockDim.x) weight[c] = expf(part_ml[2 * ((c0 + c) * a.H + h)] - top);
  __syncthreads();
  float sum = 0.0f;
  for (int64_t c = 0; c < n; ++c) sum += part_ml[2 * ((c0 + c) * a.H + h) + 1] * weight[c];
  for (int64_t e = threadIdx.x; e < a.D; e += blockDim.x) {
    float o = 0.0f;
    for (int64_t c = 0; c < n; ++c) o += part_acc[((c0 + c) * a.H + h) * a.D + e] * weight[c];
    out[(s * a.H + h) * a.D + e] = o / sum;
  }
  if (threadIdx.x == 0) lse[a.H * s + h] = top + logf(sum);
}

// The chunk kernel's dynamic shared memory for head dim D: the staged rows (the warps' accumulators
// take less).
template <typename Cached>
size_t staged_bytes(int64_t D) {
  return sizeof(Cached) * static_cast<size_t>(kStagedKeys * 2 * D);
}

template <int W, int P, typename Cached>
void chunk_launch(const DecodeArgs& a, int64_t chunks, const Tensor& q, Tensor& part_ml, Tensor& part_acc,
                  Tensor& out, Tensor& lse) {
  static_assert(kStagedKeys * 2 * sizeof(Cached) >= kWarps * kGroup * sizeof(float),
                "the warps' accumulators fit where the rows were staged");
  const auto kernel = attention_decode_chunk_kernel<W, P, Cached>;
  {
    // Opted in once per GPU, for the largest head dim: the call costs the host more than a launch.
    static std::mutex mutex;
    static std::set<int> done;
    int device = 0;
    S0_CUDA_CHECK(cudaGetDevice(&device));
    const std::lock_guard<std::mutex> lock(mutex);
    if (done.insert(device).second)
      S0_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(staged_bytes<Cached>(kMaxHeadDim))));
  }
  const int64_t parts = (a.H / a.Hkv + kGroup - 1) / kGroup;
  kernel<<<dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(a.Hkv * parts)), kWarps * 32,
           staged_bytes<Cached>(a.D), stream()>>>(a, f32(q), f32_mut(part_ml), f32_mut(part_acc), f32_mut(out),
                                                   f32_mut(lse));
  check_launch("attention_decode_chunk_kernel");
}

}  // namespace

int64_t append_decode_chunks(const std::vector<int64_t>& n_keys, std::vector<int64_t>& table) {
  const size_t begin = table.size();
  int64_t chunks = 0;
  for (const int64_t n : n_keys) {
    table.push_back(chunks);
    chunks += (n + chunk_keys(n) - 1) / chunk_keys(n);
  }
  table.push_back(chunks);
  for (size_t s = 0; s < n_keys.size(); ++s)
    for (int64_t c = table[begin + s]; c < table[begin + s + 1]; ++c) table.push_back(static_cast<int64_t>(s));
  return chunks;
}

void attention_decode(const DecodeArgs& a, int64_t chunks, const Tensor& q, Tensor& out, Tensor& lse) {
  if (a.D > kMaxHeadDim) fail("internal: decode attention supports head dims up to ", kMaxHeadDim, ", got ", a.D);
  // Every sequence has at least one chunk (this step's key): more chunks than sequences means some
  // sequence has partials to merge. Otherwise (short caches) the chunk kernel writes every output
  // and neither the partials nor the merge launch are needed.
  const int64_t n_seqs = q.dim(0);
  const bool merge = chunks > n_seqs;
  Tensor part_ml, part_acc;
  if (merge) {
    part_ml = Tensor::empty({chunks, a.H, 2}, DType::F32, q.device());
    part_acc = Tensor::empty({chunks, a.H, a.D}, DType::F32, q.device());
  }
  auto launch_for = [&](auto cached) {
    using Cached = decltype(cached);
    if (!a.aligned)
      chunk_launch<1, kMaxHeadDim / 32, Cached>(a, chunks, q, part_ml, part_acc, out, lse);
    else if (a.D <= 128)
      chunk_launch<4, 1, Cached>(a, chunks, q, part_ml, part_acc, out, lse);
    else
      chunk_launch<4, 2, Cached>(a, chunks, q, part_ml, part_acc, out, lse);
  };
  a.bf16 ? launch_for(__nv_bfloat16{}) : launch_for(float{});
  if (!merge) return;
  attention_decode_merge_kernel<<<static_cast<unsigned>(n_seqs * a.H), 128, 0, stream()>>>(
      a, f32(part_ml), f32(part_acc), f32_mut(out), f32_mut(lse));
  check_launch("attention_decode_merge_kernel");
}

}  // namespace s0::ops::cuda
