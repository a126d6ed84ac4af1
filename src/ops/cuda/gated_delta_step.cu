#include "ops/cuda/gated_delta_step.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "core/error.h"
#include "ops/cuda/async_copy.cuh"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"

// Why a kernel of its own: the chunked form prepares 64-token blocks and sweeps them with the state
// tile in shared memory, which for one token is almost all overhead (on an H200 at the 4B decode
// shape, 60 us per layer at batch 1 and 700 us at batch 64, against a few microseconds of state
// traffic). Here the work is the state's traffic, so the layout serves it. An item is one
// (sequence, head, tile of kStepCols columns): every key row of those columns, each row read and
// written as one contiguous run. A lane holds kColsPerLane adjacent columns (four in a wide item:
// one 16-byte access of float32 states, 8 of bf16, to shared memory and back to the state), and
// the block's kStepParts warps split the key axis, each thread keeping its rows of those columns
// in registers between the read and the write. (Lanes holding columns lane, lane + 32, ... made
// four accesses of 4 bytes where one serves: on an H200 a batch-256 decode step of the 4B shape
// took 17.80 ms against 17.13-17.29 with adjacent columns, 14.86 against 14.07 with bf16 states.
// More bytes in flight did not help: three stages, two items' states in flight, made it slower,
// 18.2-18.4 ms.) Blocks are persistent and take items in turn, and a block copies its next items'
// states into shared memory (cp.async) while it works on the current one and writes it back, so
// that reads and writes stream together (a block per item, reading, then computing, then writing,
// kept an H200's memory 42% busy at batch 256). Tiles are 128 columns wide, or 32 when the batch is
// small (at batch 1 the 4B shape has 32 heads: too few items of 128 columns for the GPU). Both dot
// products over the key axis sum each thread's rows in order, then the warps' sums in order,
// whatever the tile: the same bits run to run and for any batch. The arithmetic is the chunked
// form's for a chunk of one token (in = all = exp(g), out = 1, and the chunk's triangular solve is
// the identity), summed in another order. States kept in bf16 (a generation cache's option,
// ops/carried_state.h) are read and staged as they are, widened to float32 for the arithmetic, and
// rounded once as they are written.

namespace s0::ops::cuda {

namespace {

constexpr int kStepLanes = 32;
constexpr int kStepParts = 16;  // warps, splitting the key axis
constexpr int kStepThreads = kStepLanes * kStepParts;
// State tiles a block has in flight: the current item's and the next kStepStages - 1 items'. Three
// were slower than two on an H100 (batch 64: 124 against 114 us a layer; 256: 447 against 395)
// and on an H200 (above).
constexpr int kStepStages = 2;
// Items of 128 columns below which the kernel takes 32-column items (two per SM of an H100).
constexpr int64_t kWideItemsWanted = 264;

// The state rows and columns of one item as staged in shared memory: [kRows * kStepParts][kStepCols]
// elements of the state's own type.
template <int kRows, int kColsPerLane>
constexpr int stage_elements() {
  return kRows * kStepParts * kStepLanes * kColsPerLane;
}

struct StepItem {
  int s, h, first_col;
  int64_t t;  // the sequence's token
  bool single;  // a sequence of one token (others are the chunked kernels')
};

// Item `it` (below 2^31, launch_step's check): 32-bit divisions, each block finding each of its
// items once.
__device__ inline StepItem step_item(int64_t it, int H, int tiles, int cols, const int64_t* offsets) {
  StepItem item;
  const auto u = static_cast<uint32_t>(it), per_sequence = static_cast<uint32_t>(H) * tiles;
  const uint32_t s = u / per_sequence, in_sequence = u - s * per_sequence, h = in_sequence / tiles;
  item.s = static_cast<int>(s);
  item.h = static_cast<int>(h);
  item.first_col = static_cast<int>(in_sequence - h * tiles) * cols;
  item.t = offsets[item.s];
  item.single = offsets[item.s + 1] - item.t == 1;
  return item;
}

// This thread's share of an item's token inputs, loaded one item ahead into registers so that their
// loads travel while the block works on the item before: q and k at key row threadIdx.x, v at the
// tile's column threadIdx.x, the head's g and beta. Loaded where they are used, after the wait for
// the state, each was one more memory latency per item that nothing overlapped: on an H100 the 4B
// shape's layer took 132 us at batch 64 and 495 at 256, 114 and 395 with them loaded ahead (2.4
// and 2.7 TB/s of state read and written).
struct StepVectors {
  float q = 0.0f, k = 0.0f, v = 0.0f, g = 0.0f, beta = 0.0f;
};

__device__ inline StepVectors fetch_vectors(const GatedDeltaInputs& in, const StepItem& item, int cols) {
  StepVectors f;
  if (!item.single) return f;
  const int64_t row = item.t * in.H + item.h;
  const int e = threadIdx.x;
  if (e < in.dk) {
    f.q = in.q[row * in.dk + e];
    f.k = in.k[row * in.dk + e];
  }
  if (e < cols && item.first_col + e < in.dv) f.v = in.v[item.t * in.v_ld + item.h * in.dv + item.first_col + e];
  f.g = in.g[row];
  f.beta = in.beta[row];
  return f;
}

// Starts copying the item's start state (rows < dk, columns first_col.. < dv; zeros elsewhere)
// into `tile`, 16 bytes at a time when `async` (dv a multiple of 16 bytes' elements and a 16-byte
// aligned state: every row and tile stays aligned), else with plain loads and stores, done on return.
template <int kRows, int kColsPerLane, typename State>
__device__ inline void stage_state(State* tile, const State* start, int64_t head, int dk, int dv, int first_col,
                                   bool async) {
  constexpr int kCols = kStepLanes * kColsPerLane;
  constexpr int kElements = stage_elements<kRows, kColsPerLane>();
  constexpr int kPer16 = 16 / sizeof(State);
  if (async) {
    for (int e = threadIdx.x; e < kElements / kPer16; e += kStepThreads) {
      const int r = e / (kCols / kPer16), c = kPer16 * (e % (kCols / kPer16));
      const bool in = r < dk && first_col + c < dv;
      copy16_async(tile + r * kCols + c, in ? start + head + static_cast<int64_t>(r) * dv + first_col + c : start, in);
    }
    return;
  }
  for (int e = threadIdx.x; e < kElements; e += kStepThreads) {
    const int r = e / kCols, c = e % kCols;
    tile[e] = r < dk && first_col + c < dv ? start[head + static_cast<int64_t>(r) * dv + first_col + c] : State(0.0f);
  }
}

// Grid: persistent blocks of kStepThreads, each taking items blockIdx.x, + gridDim.x, ...; dynamic
// shared memory: kStepStages stages of stage_elements() States, item n of the block in stage n % kStepStages.
// Narrow items (a small batch) fit two blocks an SM in registers (64 a thread, no spills), so that
// one block's state reads overlap the other's work: 29.7 -> 25.2 us a layer at batch 8 on an H100.
// So do bf16 states' wide items (stages of 32 KB): a decode step of the 4B shape at batch 256 on an
// H200 takes 14.9 ms with them, 16.9 ms at one block an SM, 17.6 ms with float32 states. Float32
// wide items' stages fill the shared memory: one block an SM, and no minimum asked (0), which leaves
// the compiler its own register budget (float32 items of 64 columns, two blocks an SM, were no
// faster: 17.7-17.9 against 17.6 ms).
template <int kRows, int kColsPerLane, typename State>
__global__ void __launch_bounds__(kStepThreads, kColsPerLane == 1 || sizeof(State) == 2 ? 2 : 0)
    gated_delta_step_kernel(GatedDeltaInputs in, int64_t items, int tiles, const int64_t* offsets,
                            const int64_t* starts, const int64_t* finals, float* o, bool async) {
  constexpr int kStepCols = kStepLanes * kColsPerLane;
  constexpr int kStepMaxDk = kRows * kStepParts;
  static_assert(kStepMaxDk <= kStepThreads && kStepCols <= kStepThreads, "a thread per key row and column");
  extern __shared__ __align__(16) unsigned char stage_bytes[];
  State* stages = reinterpret_cast<State*>(stage_bytes);
  __shared__ float qs[kStepMaxDk], ks[kStepMaxDk], vs[kStepCols];
  __shared__ __align__(16) float partial[kStepParts][kStepCols];
  __shared__ float us[kStepCols];
  const int H = in.H, dk = in.dk, dv = in.dv;
  const int lane = threadIdx.x % kStepLanes, part = threadIdx.x / kStepLanes;
  // This thread's sums for its columns into its part's row of `partial` (one 16-byte store for four).
  auto keep_partial = [&](const float (&acc)[kColsPerLane]) {
    float* to = &partial[part][lane * kColsPerLane];
    if constexpr (kColsPerLane == 4)
      *reinterpret_cast<float4*>(to) = float4{acc[0], acc[1], acc[2], acc[3]};
    else
#pragma unroll
      for (int m = 0; m < kColsPerLane; ++m) to[m] = acc[m];
  };
  const int64_t head_floats = static_cast<int64_t>(dk) * dv;
  // Item `next` into stage `buffer`: one group of copies per item, empty past the last item
  // (`valid` false).
  auto stage = [&](const StepItem& next, bool valid, int buffer) {
    if (valid) {
      const State* start = reinterpret_cast<const State*>(starts[next.s]);
      // A start state that is a view at an odd offset takes the plain loads.
      const bool aligned = async && reinterpret_cast<uintptr_t>(start) % 16 == 0;
      if (next.single && start)  // without one, the state starts at zeros and nothing is read
        stage_state<kRows, kColsPerLane, State>(stages + buffer * stage_elements<kRows, kColsPerLane>(), start,
                                         next.h * head_floats, dk, dv, next.first_col, aligned);
    }
    commit_stage();
  };
  // The item staged next is the one whose vectors are fetched next: two stages.
  static_assert(kStepStages == 2, "one item staged ahead");
  StepItem upcoming{};
  StepVectors next;
  if (blockIdx.x < items) {
    upcoming = step_item(blockIdx.x, H, tiles, kStepCols, offsets);
    next = fetch_vectors(in, upcoming, kStepCols);
  }
  stage(upcoming, blockIdx.x < items, 0);
  int64_t n = 0;  // the block's items so far
  for (int64_t it = blockIdx.x; it < items; it += gridDim.x, ++n) {
    // Every thread is done with the previous item's stage (read at its start), which now takes
    // the next item, and with the previous item's shared rows and sums.
    __syncthreads();
    const StepItem item = upcoming;
    const StepVectors now = next;
    const bool more = it + gridDim.x < items;
    if (more) upcoming = step_item(it + gridDim.x, H, tiles, kStepCols, offsets);
    stage(upcoming, more, static_cast<int>((n + 1) % kStepStages));
    if (more) next = fetch_vectors(in, upcoming, kStepCols);
    if (!item.single) continue;
    const int64_t row = item.t * H + item.h;
    if (threadIdx.x < dk) {
      qs[threadIdx.x] = now.q;
      ks[threadIdx.x] = now.k;
    }
    if (threadIdx.x < kStepCols) vs[threadIdx.x] = now.v;
    wait_stages<kStepStages - 1>();  // this item's state has landed
    __syncthreads();  // for every thread, with q, k and v
    const float decay = decay_factor(static_cast<double>(now.g)), beta = now.beta;
    const State* tile = stages + (n % kStepStages) * stage_elements<kRows, kColsPerLane>();
    const bool has_start = starts[item.s] != 0;  // else zeros, whatever the decay
    // S[i][m]: row part + i * kStepParts, column first_col + lane * kColsPerLane + m.
    float S[kRows][kColsPerLane];
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const State* from = tile + (part + i * kStepParts) * kStepCols + lane * kColsPerLane;
      if constexpr (kColsPerLane == 4) {
        const float4 x = has_start ? load4(from) : float4{0.0f, 0.0f, 0.0f, 0.0f};
        S[i][0] = decay * x.x, S[i][1] = decay * x.y, S[i][2] = decay * x.z, S[i][3] = decay * x.w;
      } else {
#pragma unroll
        for (int m = 0; m < kColsPerLane; ++m) S[i][m] = has_start ? decay * load(from + m) : 0.0f;
      }
    }
    float acc[kColsPerLane] = {};
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const int e = part + i * kStepParts;
      if (e < dk)
#pragma unroll
        for (int m = 0; m < kColsPerLane; ++m) acc[m] += ks[e] * S[i][m];
    }
    keep_partial(acc);
    __syncthreads();
    // u = beta (v - S^T k), one column per thread of the first warps.
    for (int c = threadIdx.x; c < kStepCols; c += blockDim.x) {
      const int j = item.first_col + c;
      float kv = 0.0f;
      for (int p = 0; p < kStepParts; ++p) kv += partial[p][c];
      us[c] = j < dv ? beta * (vs[c] - kv) : 0.0f;
    }
    __syncthreads();  // u is in shared memory, and every partial has been read
    State* final_state = reinterpret_cast<State*>(finals[item.s]);
    const bool vector_rows = async && reinterpret_cast<uintptr_t>(final_state) % (4 * sizeof(State)) == 0;
    const int64_t head = item.h * head_floats;
#pragma unroll
    for (int m = 0; m < kColsPerLane; ++m) acc[m] = 0.0f;
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const int e = part + i * kStepParts;
      if (e >= dk) continue;
#pragma unroll
      for (int m = 0; m < kColsPerLane; ++m) {
        S[i][m] += ks[e] * us[lane * kColsPerLane + m];
        acc[m] += qs[e] * S[i][m];
      }
      if (!final_state) continue;
      const int j = item.first_col + lane * kColsPerLane;
      State* to = final_state + head + static_cast<int64_t>(e) * dv + j;
      if (kColsPerLane == 4 && vector_rows && j + 4 <= dv)
        store4(to, float4{S[i][0], S[i][1], S[i][2], S[i][3]});
      else
#pragma unroll
        for (int m = 0; m < kColsPerLane; ++m)
          if (j + m < dv) store(to + m, S[i][m]);
    }
    keep_partial(acc);
    __syncthreads();
    for (int c = threadIdx.x; c < kStepCols; c += blockDim.x) {
      const int j = item.first_col + c;
      if (j >= dv) continue;
      float qo = 0.0f;
      for (int p = 0; p < kStepParts; ++p) qo += partial[p][c];
      o[row * dv + j] = qo;
    }
  }
  wait_stages<0>();  // nothing in flight when the block ends
}

// How many of the kernel's blocks the current GPU holds at once, with its shared memory opted in
// first. Found once per GPU and kept: the queries cost tens of microseconds, and a decode step of
// the 4B shape launches the kernel 24 times (they doubled the host's time to queue a step at batch 1).
template <int kRows, int kColsPerLane, typename State>
int64_t resident_blocks(size_t bytes) {
  static std::mutex mutex;
  static std::map<int, int64_t> by_device;
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto found = by_device.find(device); found != by_device.end()) return found->second;
  const auto kernel = gated_delta_step_kernel<kRows, kColsPerLane, State>;
  allow_shared(reinterpret_cast<const void*>(kernel), bytes, "gated_delta_step_kernel");
  int sms = 0, per_sm = 0;
  S0_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  S0_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kStepThreads, bytes));
  return by_device[device] = static_cast<int64_t>(sms) * std::max(per_sm, 1);
}

// Launches the kernel for items of kStepLanes * kColsPerLane columns, as many persistent blocks as
// fit on the GPU at once (or one per item).
template <int kRows, int kColsPerLane, typename State>
void launch_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                 const int64_t* finals, float* o) {
  constexpr int kCols = kStepLanes * kColsPerLane;
  const size_t bytes = kStepStages * sizeof(State) * stage_elements<kRows, kColsPerLane>();
  const int tiles = (in.dv + kCols - 1) / kCols;
  const int64_t items = n_seqs * in.H * tiles;
  if (items >= (int64_t{1} << 31))
    fail("op gated_delta on cuda: a decode step of ", n_seqs, " sequences of ", in.H, " heads is too large");
  const int64_t blocks = std::min<int64_t>(items, resident_blocks<kRows, kColsPerLane, State>(bytes));
  gated_delta_step_kernel<kRows, kColsPerLane, State><<<static_cast<unsigned>(blocks), kStepThreads, bytes, stream()>>>(
      in, items, tiles, offsets, starts, finals, o, in.dv % (16 / sizeof(State)) == 0);
  check_launch("gated_delta_step_kernel");
}

template <typename State>
void step_with(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
               const int64_t* finals, float* o) {
  constexpr int kMaxDk = 16 * kStepParts;
  if (in.dk > kMaxDk) fail("op gated_delta on cuda supports key heads up to ", kMaxDk, " wide, got ", in.dk);
  if (n_seqs == 0) return;
  const bool few_items = (in.dv + 127) / 128 * in.H * n_seqs < kWideItemsWanted;
  // Stages of 64 KB at most: 128 columns for keys up to 128 wide, 64 for keys up to 256.
  if (in.dk <= 8 * kStepParts)
    few_items ? launch_step<8, 1, State>(in, n_seqs, offsets, starts, finals, o)
              : launch_step<8, 4, State>(in, n_seqs, offsets, starts, finals, o);
  else
    few_items ? launch_step<16, 1, State>(in, n_seqs, offsets, starts, finals, o)
              : launch_step<16, 2, State>(in, n_seqs, offsets, starts, finals, o);
}

}  // namespace

void gated_delta_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                      const int64_t* finals, float* o, bool bf16_states) {
  bf16_states ? step_with<__nv_bfloat16>(in, n_seqs, offsets, starts, finals, o)
              : step_with<float>(in, n_seqs, offsets, starts, finals, o);
}

}  // namespace s0::ops::cuda
