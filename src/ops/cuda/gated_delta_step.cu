#include "ops/cuda/gated_delta_step.h"

#include "core/error.h"
#include "ops/cuda/check.h"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"

// Why a kernel of its own: the chunked form prepares 64-token blocks and sweeps them with the state
// tile in shared memory, which for one token is almost all overhead (on an H200 at the 4B decode
// shape, 60 us per layer at batch 1 and 700 us at batch 64, against a few microseconds of state
// traffic). Here the work is the state's traffic, so the layout serves it.
//
// An item is one (sequence, head, tile of columns), a block each. A thread owns one or two
// adjacent columns of kRows consecutive key rows (its part of the key axis) and holds them in
// registers from the load to the store: every load of its rows is issued before any is used, and a
// warp's access to one row is one contiguous run (256 bytes of float32 states in a wide tile). Both
// dot products over the key axis sum each thread's rows in order, then the parts' sums in order
// (every thread of a column adds them itself, so u needs no second barrier), whatever the tile:
// the same bits run to run and for any batch. Wide tiles are 128 columns (two a thread); narrow
// ones, 32 columns (one a thread), serve a small batch, whose heads are too few wide items for the
// GPU. The arithmetic is the chunked form's for a chunk of one token (in = all = exp(g), out = 1,
// and the chunk's triangular solve is the identity), summed in another order. States kept in bf16
// (a generation cache's option, ops/carried_state.h) are read as they are, widened to float32 for
// the arithmetic, and rounded once as they are written.
//
// It replaced persistent 512-thread blocks that staged the next item's state in shared memory
// through cp.async while computing the current one (28 instructions a state element, one block an
// SM). On an H200, a decode step of the 4B shape at batch 256 (decode_bench, alternating in one
// call) took 16.20-16.21 ms with those and 15.59-15.72 with these; ncu put a float32 layer at 298
// us with DRAM 74% busy before, 281 us at 79% after. With bf16 states the step took 13.20-13.27 ms
// before and 13.44 after (a bf16 block moves half the bytes for the same fixed costs; pieces of four
// bf16 columns, which halve the threads, took 13.60-13.65).

namespace s0::ops::cuda {

namespace {

constexpr int kRows = 32;  // key rows a thread holds
constexpr int kMaxDk = 256;
constexpr int kMaxParts = kMaxDk / kRows;
// Items of 128 columns below which the kernel takes 32-column items.
constexpr int64_t kWideItemsWanted = 264;

// C adjacent elements of one state row, held as loaded in 32-bit words (bf16 stays bf16 in the
// registers until it is used, two to a word, so that a thread's loads in flight are as many bytes
// as float32's): one access of C elements where the state is aligned for it, else one an element.
template <int C, typename State>
struct alignas(C * sizeof(State)) Piece {
  static constexpr bool kBf16 = sizeof(State) == 2;
  static_assert(C * sizeof(State) % 4 == 0, "whole words");
  uint32_t w[C * sizeof(State) / 4];

  // Element m widened to float32 (a bf16's bits are a float32's upper half).
  __device__ float get(int m) const {
    if constexpr (kBf16) return __uint_as_float(m % 2 ? w[m / 2] & 0xffff0000u : w[m / 2] << 16);
    else return __uint_as_float(w[m]);
  }
  // Element m's bits from a state element.
  __device__ void put(int m, State x) {
    if constexpr (kBf16) {
      const uint32_t bits = __bfloat16_as_ushort(x);
      w[m / 2] = m % 2 ? (w[m / 2] & 0xffffu) | bits << 16 : (w[m / 2] & 0xffff0000u) | bits;
    } else {
      w[m] = __float_as_uint(x);
    }
  }
  // Element m as a state element (the bits held).
  __device__ State element(int m) const {
    if constexpr (kBf16) return __ushort_as_bfloat16(static_cast<unsigned short>(m % 2 ? w[m / 2] >> 16 : w[m / 2]));
    else return __uint_as_float(w[m]);
  }
  // Element m from a float32 result, rounded as store.cuh's store rounds it (bf16: nearest even).
  __device__ void round_in(int m, float x) {
    if constexpr (kBf16) put(m, __float2bfloat16_rn(x));
    else w[m] = __float_as_uint(x);
  }
};

template <int C, typename State>
__device__ inline Piece<C, State> load_piece(const State* from, bool in, int j, int dv, bool whole) {
  Piece<C, State> p{};
  if (whole) {
    if (in) p = *reinterpret_cast<const Piece<C, State>*>(from);
  } else {
#pragma unroll
    for (int m = 0; m < C; ++m)
      if (in && j + m < dv) p.put(m, from[m]);
  }
  return p;
}

// Grid: one block per item (sequence s, head h, column tile), items in that order; block:
// kPartThreads * ceil(dk / kRows) threads, thread (part p, lane c) holding key rows p * kRows ..
// and columns first_col + c * kColsPerThread ... `whole`: dv is a multiple of kColsPerThread, so
// that every row's piece is aligned where the state is (which the kernel checks per state).
template <int kPartThreads, int kColsPerThread, typename State>
__global__ void __launch_bounds__(kPartThreads* kMaxParts)
    gated_delta_step_kernel(GatedDeltaInputs in, int tiles, const int64_t* offsets, const int64_t* starts,
                            const int64_t* finals, float* o, bool whole) {
  constexpr int kCols = kPartThreads * kColsPerThread;
  constexpr int C = kColsPerThread;
  using P = Piece<C, State>;
  __shared__ __align__(16) float qs[kMaxDk], ks[kMaxDk];
  __shared__ float kv_part[kMaxParts][kCols], out_part[kMaxParts][kCols];
  const int H = in.H, dk = in.dk, dv = in.dv;
  // Item blockIdx.x (below 2^31, launch_step's check), in 32-bit arithmetic.
  const uint32_t per_sequence = static_cast<uint32_t>(H) * tiles;
  const uint32_t s = blockIdx.x / per_sequence, in_sequence = blockIdx.x - s * per_sequence;
  const uint32_t h = in_sequence / tiles;
  const int64_t t = offsets[s];
  if (offsets[s + 1] - t != 1) return;  // a longer sequence: the chunked kernels'
  const int lane = threadIdx.x % kPartThreads, part = threadIdx.x / kPartThreads;
  const int c = lane * C, j = static_cast<int>(in_sequence - h * tiles) * kCols + c;
  const int row0 = part * kRows;
  const int64_t head = static_cast<int64_t>(h) * dk * dv;
  const State* start = reinterpret_cast<const State*>(starts[s]);
  State* final_state = reinterpret_cast<State*>(finals[s]);
  // A state that is a view at an odd offset takes one access an element.
  auto whole_pieces = [&](const State* p) { return whole && reinterpret_cast<uintptr_t>(p) % sizeof(P) == 0; };

  // The start state's rows, every load in flight before any is used (zeros without a start state).
  P raw[kRows];
  const bool column_in = j < dv, whole_in = whole_pieces(start);
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const bool in_range = start && column_in && row0 + i < dk;
    raw[i] = load_piece<C>(in_range ? start + head + static_cast<int64_t>(row0 + i) * dv + j : start, in_range, j, dv,
                           whole_in);
  }
  const int64_t row = t * H + h;
  for (int e = threadIdx.x; e < kMaxParts * kRows; e += blockDim.x) {
    const bool key_in = e < dk;
    qs[e] = key_in ? in.q[row * dk + e] : 0.0f;
    ks[e] = key_in ? in.k[row * dk + e] : 0.0f;
  }
  float v[C];
#pragma unroll
  for (int m = 0; m < C; ++m) v[m] = j + m < dv ? in.v[t * in.v_ld + h * dv + j + m] : 0.0f;
  const float decay = decay_factor(static_cast<double>(in.g[row])), beta = in.beta[row];
  __syncthreads();  // q and k are in shared memory

  // S <- exp(g) S (formed again from the loaded rows where it is used next: the same bits). Every
  // product and sum is an explicit rounding, so that no instance of the kernel contracts them
  // otherwise: bf16 states then give the float32 step's results rounded, bit for bit.
  auto decayed = [&](int i, int m) { return start ? __fmul_rn(decay, raw[i].get(m)) : 0.0f; };
  // This part's share of S^T k.
  const int rows = min(kRows, dk - row0);  // at least 1: parts cover dk
  float acc[C] = {};
#pragma unroll
  for (int i = 0; i < kRows; ++i)
    if (i < rows)
#pragma unroll
      for (int m = 0; m < C; ++m) acc[m] = __fmaf_rn(ks[row0 + i], decayed(i, m), acc[m]);
#pragma unroll
  for (int m = 0; m < C; ++m) kv_part[part][c + m] = acc[m];
  __syncthreads();
  // u = beta (v - S^T k), the parts' sums added in order by every thread of the column.
  const int parts = (dk + kRows - 1) / kRows;
  float u[C];
#pragma unroll
  for (int m = 0; m < C; ++m) {
    float kv = 0.0f;
    for (int p = 0; p < parts; ++p) kv = __fadd_rn(kv, kv_part[p][c + m]);
    u[m] = j + m < dv ? __fmul_rn(beta, __fsub_rn(v[m], kv)) : 0.0f;
    acc[m] = 0.0f;
  }
  // S <- S + k u^T, written back; this part's share of o = S^T q.
  const bool whole_out = whole_pieces(final_state);
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    if (i >= rows) continue;
    P next;
#pragma unroll
    for (int m = 0; m < C; ++m) {
      const float x = __fmaf_rn(ks[row0 + i], u[m], decayed(i, m));
      acc[m] = __fmaf_rn(qs[row0 + i], x, acc[m]);
      next.round_in(m, x);
    }
    if (!final_state || !column_in) continue;
    State* to = final_state + head + static_cast<int64_t>(row0 + i) * dv + j;
    if (whole_out)
      *reinterpret_cast<P*>(to) = next;
    else
#pragma unroll
      for (int m = 0; m < C; ++m)
        if (j + m < dv) to[m] = next.element(m);
  }
#pragma unroll
  for (int m = 0; m < C; ++m) out_part[part][c + m] = acc[m];
  __syncthreads();
  if (part != 0) return;
#pragma unroll
  for (int m = 0; m < C; ++m) {
    if (j + m >= dv) continue;
    float qo = 0.0f;
    for (int p = 0; p < parts; ++p) qo = __fadd_rn(qo, out_part[p][c + m]);
    o[row * dv + j + m] = qo;
  }
}

// Launches the kernel for items of kPartThreads * kColsPerThread columns.
template <int kPartThreads, int kColsPerThread, typename State>
void launch_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                 const int64_t* finals, float* o) {
  constexpr int kCols = kPartThreads * kColsPerThread;
  const int tiles = (in.dv + kCols - 1) / kCols;
  const int64_t items = n_seqs * in.H * tiles;
  if (items >= (int64_t{1} << 31))
    fail("op gated_delta on cuda: a decode step of ", n_seqs, " sequences of ", in.H, " heads is too large");
  const bool whole = in.dv % kColsPerThread == 0;
  const int threads = kPartThreads * ((in.dk + kRows - 1) / kRows);
  gated_delta_step_kernel<kPartThreads, kColsPerThread, State>
      <<<static_cast<unsigned>(items), threads, 0, stream()>>>(in, tiles, offsets, starts, finals, o, whole);
  check_launch("gated_delta_step_kernel");
}

template <typename State>
void step_with(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
               const int64_t* finals, float* o) {
  if (in.dk > kMaxDk) fail("op gated_delta on cuda supports key heads up to ", kMaxDk, " wide, got ", in.dk);
  if (n_seqs == 0) return;
  // A thread's piece of a row: two columns in a wide tile (8 bytes of float32 states, 4 of bf16),
  // one float32 or two bf16 columns in a narrow one (a whole word). Tiles are 128 or 32 columns.
  constexpr int kWideCols = 2, kNarrowCols = sizeof(State) == 2 ? 2 : 1;
  const bool few_items = (in.dv + 127) / 128 * in.H * n_seqs < kWideItemsWanted;
  few_items ? launch_step<32 / kNarrowCols, kNarrowCols, State>(in, n_seqs, offsets, starts, finals, o)
            : launch_step<128 / kWideCols, kWideCols, State>(in, n_seqs, offsets, starts, finals, o);
}

}  // namespace

void gated_delta_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                      const int64_t* finals, float* o, bool bf16_states) {
  bf16_states ? step_with<__nv_bfloat16>(in, n_seqs, offsets, starts, finals, o)
              : step_with<float>(in, n_seqs, offsets, starts, finals, o);
}

}  // namespace s0::ops::cuda
