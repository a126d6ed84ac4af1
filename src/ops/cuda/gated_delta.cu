#include "ops/cuda/gated_delta.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "ops/cuda/block_mma.cuh"
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/gated_delta_step.h"
#include "ops/cuda/recurrence_tables.h"
#include "ops/cuda/tensor_args.h"
#include "ops/log_decay_grad.h"

// The chunked (WY / UT-transform) form of the CPU's ops/cpu/gated_delta_chunked.cpp, whose comment
// states the math; the names here follow it. Within a chunk of n tokens starting from state S, with
// gamma the cumulative log decay, in_i = exp(gamma_i), out_i = exp(gamma_last - gamma_i), all =
// exp(gamma_last) and mask_ij = exp(gamma_i - gamma_j) (j <= i):
//   kk = strictly_lower(K K^T ⊙ mask), A = diag(beta) kk, Tinv = (I + A)^{-1},
//   U = Tinv diag(beta) V, W = Tinv diag(beta in) K, qk = lower(Q K^T ⊙ mask),
//   delta = U - W S,  O = diag(in) Q S + qk delta,  S <- all S + K^T diag(out) delta.
// Four kernels:
//   prepare         per (chunk, head): everything that does not depend on the state (above, up to
//                   U and W), kept in global scratch for the others;
//   forward sweep   per (sequence, head, tile of kTile state columns): the chunks in order, the
//                   state tile in shared memory; writes O, the finals and, for the backward, each
//                   chunk's start state and delta rows (a forward on the whole tape keeps them and
//                   prepare's outputs for its backward, which then runs neither kernel);
//   backward sweep  the same grid, the chunks in reverse with dS (the gradient to the state after
//                   the chunk): keeps each chunk's dS and d_delta = qk^T dO + diag(out) K dS;
//   chunk backward  per (chunk, head): every input gradient of the chunk from those, in parallel.
// All arithmetic is f32, the chunk products on the tensor cores in 3xTF32 (block_mma.cuh), which
// keeps f32's accuracy (the decay exponents, as on the CPU, are differences of cumulative sums
// kept in double), or in TF32 when asked (ops/product_precision.h: each kernel is a template on
// that); every sum has a fixed order and no result is accumulated across blocks: the
// same bits run to run, and a sequence's results do not depend on the rest of the batch.

namespace s0::ops::cuda {

namespace {

// State columns per sweep block, and its threads. Measured on an H200 at the 4B training shape
// (gdn_cuda_bench), when the products still ran on the CUDA cores: 64 columns and 256 threads took
// 8.1 ms forward and 27.9 ms backward per layer, against 10.5 and 31.8 with 32 and 128 (each block
// reads W, K and Q once for twice the columns); on the tensor cores (block_mma), 7.6 and 20.5.
constexpr int kTile = 64;
constexpr int kSweepThreads = 256;
constexpr int kChunkThreads = 256;  // a per-chunk block
// Every kernel here runs two blocks to an SM: __launch_bounds__(threads, kBlocksPerSm) caps them at
// 128 registers a thread (left alone, ptxas takes about 200 for block_mma's fragments and
// prefetched slabs, and one block would run alone on its SM).
constexpr int kBlocksPerSm = 2;
constexpr int kSdsBatch = 16;  // the chunk backward's <S, dS>: entries of each a thread loads at once
constexpr int kPassTokens = 2;  // the chunk backward's per-token pass: tokens a warp takes at once
static_assert(kSweepThreads == kMmaThreads && kChunkThreads == kMmaThreads, "block_mma's block size");

using Inputs = GatedDeltaInputs;

// The state-independent intermediates, per chunk and head (index ch = c * H + h), written by
// prepare: w[ch][kChunk][dk], u[ch][kChunk][dv], qk, kk and tinv [ch][kChunk][kChunk] (entries of
// rows and columns >= the chunk's length are never read), factors[ch][kFactors].
struct Prepared {
  float *w, *u, *qk, *kk, *tinv, *factors;
};

// What the forward sweep keeps per chunk and head for a backward (null: not kept): the start state
// [ch][dk][dv] and the delta rows [ch][kChunk][dv].
struct SweepKept {
  float *starts, *delta;
};

// What the backward reads per chunk and head: the start state and the dS entering its backward
// (the gradient to its end state) [ch][dk][dv], its delta and d_delta rows [ch][kChunk][dv]; and
// the chunk backward's dW [ch][kChunk][dk] (in global memory: the shared memory of two
// chunk-backward blocks an SM goes to block_mma's staging, da and d(beta in K), then dp).
struct Saved {
  const float* starts;
  float *delta, *ds_end, *d_delta, *dw;
};

// chunk_gamma of the chunk's log decays, which every thread reads into gamma first (one thread
// reading them from global memory would wait out one load after another).
__device__ void gdn_chunk_gamma(const Inputs& in, int64_t row0, int h, int n, double* gamma) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) gamma[i] = in.g[(row0 + i) * in.H + h];
  __syncthreads();
  chunk_gamma(n, [&](int i) { return gamma[i]; }, gamma);
}

// Tinv = (I + A)^{-1} of a chunk, A_ij = beta_i kk_ij strictly lower, by forward substitution on
// the identity: entry (i, e) is 1[i = e] minus A_ij Tinv_je for j = e..i-1 in ascending order, as
// the CPU sums. Each term is subtracted as soon as row j of the column is final, which keeps that
// order and leaves a chain of one step per row (not one per term): warp w takes columns w, w + 8,
// ... at once, its lanes rows lane and lane + 32, and row j's entry reaches them by a shuffle.
constexpr int kChunkWarps = kChunkThreads / 32;
constexpr int kTinvColumns = kChunk / kChunkWarps;  // a warp's columns
static_assert(kChunk == 64 && kChunk % kChunkWarps == 0, "two rows a lane, the columns shared evenly");

__device__ void invert_unit_lower(int n, const float* beta, const float (*kk)[kPad], float (*tinv)[kPad]) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float x[kTinvColumns][2];  // entries (lane + 32 h, warp + kChunkWarps c)
#pragma unroll
  for (int c = 0; c < kTinvColumns; ++c)
#pragma unroll
    for (int h = 0; h < 2; ++h) x[c][h] = lane + 32 * h == warp + kChunkWarps * c ? 1.0f : 0.0f;
  const float beta0 = lane < n ? beta[lane] : 0.0f, beta1 = lane + 32 < n ? beta[lane + 32] : 0.0f;
  for (int j = warp; j < n; ++j) {
    const float a0 = beta0 * kk[lane][j], a1 = beta1 * kk[lane + 32][j];  // A of the lane's rows
#pragma unroll
    for (int c = 0; c < kTinvColumns; ++c) {
      const float t = __shfl_sync(0xffffffffu, j < 32 ? x[c][0] : x[c][1], j % 32);  // Tinv_je, final
      if (j < warp + kChunkWarps * c) continue;
      if (lane > j) x[c][0] -= a0 * t;
      if (lane + 32 > j) x[c][1] -= a1 * t;
    }
  }
#pragma unroll
  for (int c = 0; c < kTinvColumns; ++c)
#pragma unroll
    for (int h = 0; h < 2; ++h)
      if (lane + 32 * h < n && warp + kChunkWarps * c < n) tinv[lane + 32 * h][warp + kChunkWarps * c] = x[c][h];
}

// Grid (chunks, H).
template <ProductPrecision P>
__global__ void __launch_bounds__(kChunkThreads, kBlocksPerSm) prepare_kernel(Inputs in, ChunkPlan plan, Prepared p) {
  extern __shared__ float4 shared[];
  float* stage = reinterpret_cast<float*>(shared);  // block_mma's
  __shared__ double gamma[kChunk];
  __shared__ float beta[kChunk], in_f[kChunk];
  __shared__ float kk[kChunk][kPad], tinv[kChunk][kPad];
  const int64_t c = blockIdx.x, row0 = plan.row[c];
  const int h = blockIdx.y, n = static_cast<int>(plan.len[c]), H = in.H, dk = in.dk, dv = in.dv;
  const int64_t ch = c * H + h, ldk = static_cast<int64_t>(H) * dk;
  const float* Q = in.q + (row0 * H + h) * dk;
  const float* K = in.k + (row0 * H + h) * dk;
  const float* V = in.v + row0 * in.v_ld + h * dv;
  gdn_chunk_gamma(in, row0, h, n, gamma);
  store_factors(gamma, n, p.factors + ch * kFactors);
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    in_f[i] = decay_factor(gamma[i]);
    beta[i] = in.beta[(row0 + i) * H + h];
  }
  float* kk_out = p.kk + ch * kChunk * kChunk;
  float* qk_out = p.qk + ch * kChunk * kChunk;
  auto k_row = [&](int i, int e) { return K[i * ldk + e]; };
  auto k_col = [&](int e, int j) { return K[j * ldk + e]; };
  // K K^T and Q K^T as one product of 2n rows (K's, then Q's) with K^T: K^T is staged once, and
  // the block tile's rows are all busy (each entry is the same sum as in a product of its own).
  block_mma<P, Band::full, Along::k, Along::k>(
      2 * n, n, dk, [&](int i, int e) { return (i < n ? K + i * ldk : Q + (i - n) * ldk)[e]; }, k_col,
      [&](int i, int j, float s) {
        if (i < n) {
          const float x = j < i ? s * mask_at(gamma, i, j) : 0.0f;
          kk[i][j] = x;
          kk_out[i * kChunk + j] = x;
        } else {
          i -= n;
          qk_out[i * kChunk + j] = j <= i ? s * mask_at(gamma, i, j) : 0.0f;
        }
      },
      stage);
  __syncthreads();
  invert_unit_lower(n, beta, kk, tinv);
  __syncthreads();
  float* tinv_out = p.tinv + ch * kChunk * kChunk;
  for_window(n, n, [&](int i, int j) { tinv_out[i * kChunk + j] = tinv[i][j]; });
  float* U = p.u + ch * kChunk * dv;
  float* W = p.w + ch * kChunk * dk;
  block_mma<P, Band::lower, Along::k, Along::mn, Tiles::wide>(
      n, dv, n, [&](int i, int j) { return tinv[i][j] * beta[j]; }, [&](int j, int e) { return V[j * in.v_ld + e]; },
      [&](int i, int e, float s) { U[i * dv + e] = s; }, stage);
  block_mma<P, Band::lower, Along::k, Along::mn, Tiles::wide>(
      n, dk, n, [&](int i, int j) { return tinv[i][j] * beta[j] * in_f[j]; }, k_row,
      [&](int i, int e, float s) { W[i * dk + e] = s; }, stage);
}

// One sweep block's view: its sequence, head and columns [w0, w0 + tw) of the state; its shared
// memory holds the state tile [dk][kTile] (S or dS) and a [kChunk][kTile] tile of rows.
struct SweepBlock : SweepShared {
  int s, h, w0, tw;

  __device__ SweepBlock(const ChunkPlan& plan, int dk, int dv, float* shared)
      : SweepShared(shared, kMmaStageFloats, dk * kTile, kChunk * kTile), s(swept_sequence(plan)), h(blockIdx.y),
        w0(blockIdx.x * kTile), tw(min(kTile, dv - w0)) {}

  // Copies the tile between shared memory and a [dk][dv] state at `state` (null: zeros, or none).
  __device__ void load(const float* state, int dk, int dv) {
    load_window(tile, kTile, state ? state + w0 : nullptr, dv, dk, tw);
  }
  __device__ void store(float* state, int dk, int dv) const {
    store_window(tile, kTile, state ? state + w0 : nullptr, dv, dk, tw);
  }
  // Copies the tile of `rows` into rows [n][dv] at `out`.
  __device__ void store_rows(float* out, int n, int dv) const {
    store_window(rows, kTile, out ? out + w0 : nullptr, dv, n, tw);
  }
};

size_t gdn_sweep_bytes(int dk, int dv) {
  return sweep_shared_bytes(kMmaStageFloats, int64_t{dk} * kTile, int64_t{kChunk} * kTile);
}

// Grid (ceil(dv / kTile), H, n_seqs). o null: no outputs (the backward's recomputation); finals
// null or a table of addresses (0 = not wanted). With `skip_single`, sequences of one token are
// left to the step kernel (gated_delta_step.h).
template <ProductPrecision P>
__global__ void __launch_bounds__(kSweepThreads, kBlocksPerSm)
    forward_sweep_kernel(Inputs in, ChunkPlan plan, Prepared p, const int64_t* starts, const int64_t* finals, float* o,
                         SweepKept kept, bool skip_single) {
  extern __shared__ float4 shared[];
  const int H = in.H, dk = in.dk, dv = in.dv;
  if (skip_single && single_token(plan, swept_sequence(plan))) return;
  SweepBlock b(plan, dk, dv, reinterpret_cast<float*>(shared));
  const int64_t head = static_cast<int64_t>(b.h) * dk * dv, ldk = static_cast<int64_t>(H) * dk,
                ldv = static_cast<int64_t>(H) * dv;
  const float* start = reinterpret_cast<const float*>(starts[b.s]);
  b.load(start ? start + head : nullptr, dk, dv);
  float *S = b.tile, *delta = b.rows;
  for (int64_t c = plan.base[b.s]; c < plan.base[b.s + 1]; ++c) {
    const int64_t row0 = plan.row[c], ch = c * H + b.h;
    const int n = static_cast<int>(plan.len[c]);
    b.load_factors(p.factors + ch * kFactors, n);
    if (kept.starts) b.store(kept.starts + ch * dk * dv, dk, dv);
    const float* W = p.w + ch * kChunk * dk;
    const float* U = p.u + ch * kChunk * dv + b.w0;
    const float* K = in.k + (row0 * H + b.h) * dk;
    auto s_at = [&](int e, int j) { return S[e * kTile + j]; };
    auto delta_at = [&](int m, int j) { return delta[m * kTile + j]; };
    // delta = U - W S and, with o, O = diag(in) Q S + qk delta: W S and Q S as one product of
    // 2n rows (W's, then Q's) with S, which is staged once and fills the block tile (a row's sums
    // do not depend on the rows beside it: the delta rows kept for a backward are these bits with
    // or without O).
    const float* Q = in.q + (row0 * H + b.h) * dk;
    float* O = o ? o + (row0 * H + b.h) * dv + b.w0 : nullptr;
    block_mma<P, Band::full, Along::k, Along::mn>(
        o ? 2 * n : n, b.tw, dk, [&](int i, int e) { return (i < n ? W + i * dk : Q + (i - n) * ldk)[e]; }, s_at,
        [&](int i, int j, float s) {
          if (i < n)
            delta[i * kTile + j] = U[i * dv + j] - s;
          else
            O[(i - n) * ldv + j] = b.in_f[i - n] * s;
        },
        b.stage);
    __syncthreads();  // delta is whole, and O's first term is written (by other threads than add to it)
    if (kept.delta) b.store_rows(kept.delta + ch * kChunk * dv, n, dv);
    if (o) {
      const float* qk = p.qk + ch * kChunk * kChunk;
      block_mma<P, Band::lower, Along::k, Along::mn, Tiles::square>(
          n, b.tw, n, [&](int i, int m) { return qk[i * kChunk + m]; }, delta_at,
          [&](int i, int j, float s) { O[i * ldv + j] += s; }, b.stage);
    }
    // S = all S + K^T diag(out) delta (block_mma's first barrier: every read of S above is done)
    block_mma<P, Band::full, Along::mn, Along::mn>(
        dk, b.tw, n, [&](int e, int i) { return b.out_f[i] * K[i * ldk + e]; }, delta_at,
        [&](int e, int j, float s) { S[e * kTile + j] = *b.all * S[e * kTile + j] + s; }, b.stage);
    __syncthreads();  // S is whole again, and the factors may be replaced
  }
  if (finals && finals[b.s]) b.store(reinterpret_cast<float*>(finals[b.s]) + head, dk, dv);
}

// Grid (ceil(dv / kTile), H, n_seqs): dS from zero after each sequence's last token (training
// hands back no final state) to its start, into d_initial[s] (an address, 0 = not wanted).
template <ProductPrecision P>
__global__ void __launch_bounds__(kSweepThreads, kBlocksPerSm)
    backward_sweep_kernel(Inputs in, ChunkPlan plan, Prepared p, const float* d_o, const int64_t* d_initial,
                          Saved saved) {
  extern __shared__ float4 shared[];
  const int H = in.H, dk = in.dk, dv = in.dv;
  SweepBlock b(plan, dk, dv, reinterpret_cast<float*>(shared));
  const int64_t ldk = static_cast<int64_t>(H) * dk, ldv = static_cast<int64_t>(H) * dv;
  b.load(nullptr, dk, dv);
  float *dS = b.tile, *d_delta = b.rows;
  for (int64_t c = plan.base[b.s + 1] - 1; c >= plan.base[b.s]; --c) {
    const int64_t row0 = plan.row[c], ch = c * H + b.h;
    const int n = static_cast<int>(plan.len[c]);
    b.load_factors(p.factors + ch * kFactors, n);
    b.store(saved.ds_end + ch * dk * dv, dk, dv);
    const float* K = in.k + (row0 * H + b.h) * dk;
    const float* Q = in.q + (row0 * H + b.h) * dk;
    const float* W = p.w + ch * kChunk * dk;
    const float* qk = p.qk + ch * kChunk * kChunk;
    const float* dO = d_o + (row0 * H + b.h) * dv + b.w0;
    auto d_delta_at = [&](int i, int j) { return d_delta[i * kTile + j]; };
    // d_delta = qk^T dO + diag(out) K dS
    block_mma<P, Band::upper, Along::mn, Along::mn, Tiles::square>(
        n, b.tw, n, [&](int i, int m) { return qk[m * kChunk + i]; }, [&](int m, int j) { return dO[m * ldv + j]; },
        [&](int i, int j, float s) { d_delta[i * kTile + j] = s; }, b.stage);
    block_mma<P, Band::full, Along::k, Along::mn, Tiles::square>(
        n, b.tw, dk, [&](int i, int e) { return K[i * ldk + e]; }, [&](int e, int j) { return dS[e * kTile + j]; },
        [&](int i, int j, float s) { d_delta[i * kTile + j] += b.out_f[i] * s; }, b.stage);
    __syncthreads();
    b.store_rows(saved.d_delta + ch * kChunk * dv, n, dv);
    // dS = all dS + Q^T diag(in) dO - W^T d_delta (the first product's barrier: dS is read no more)
    block_mma<P, Band::full, Along::mn, Along::mn>(
        dk, b.tw, n, [&](int e, int i) { return Q[i * ldk + e]; },
        [&](int i, int j) { return b.in_f[i] * dO[i * ldv + j]; },
        [&](int e, int j, float s) { dS[e * kTile + j] = *b.all * dS[e * kTile + j] + s; }, b.stage);
    block_mma<P, Band::full, Along::mn, Along::mn>(
        dk, b.tw, n, [&](int e, int i) { return W[i * dk + e]; }, d_delta_at,
        [&](int e, int j, float s) { dS[e * kTile + j] -= s; }, b.stage);
    __syncthreads();  // dS is whole again, and the factors may be replaced
  }
  const int64_t head = static_cast<int64_t>(b.h) * dk * dv;
  if (d_initial[b.s]) b.store(reinterpret_cast<float*>(d_initial[b.s]) + head, dk, dv);
}

// dv's rows of H dv values are dv_ld floats apart (a column block of the conv's gradient).
struct Gradients {
  const float* d_o;
  float *dq, *dk, *dv, *dg, *dbeta;
  int64_t dv_ld;
};

// Shared floats of the chunk backward: block_mma's staging, which the mask-gradient prefix sums
// [kChunk][kPad] reuse between products; da [kChunk][kPad]; then d(beta in K) [kChunk][dbk_ld(dk)]
// until the per-token pass is done with it, and dp [kChunk][kPad] in its place after. With dk = 128
// that is 104.7 KB besides the static arrays: two blocks still fit an SM.
int64_t chunk_backward_stage() { return std::max<int64_t>(kMmaStageFloats, kChunk * kPad); }
// The row stride of d(beta in K): 16 floats past a multiple of 32, so that block_mma's staging
// loads of it (two rows of 16 to a warp) land in distinct banks.
__host__ __device__ inline int dbk_ld(int dk) { return (dk + 31) / 32 * 32 + 16; }
size_t chunk_backward_shared_bytes(int dk) {
  const int64_t last = std::max<int64_t>(int64_t{kChunk} * kPad, int64_t{kChunk} * dbk_ld(dk));
  return sizeof(float) * static_cast<size_t>(chunk_backward_stage() + int64_t{kChunk} * kPad + last);
}

// The chunk backward's offsets of its chunk and head into the tensors it reads and writes, kept in
// shared memory. Each of the kernel's products fits 128 registers alone (ptxas: 83 to 125 with the
// rest taken out), but 18 pointers held across all of them spilled (512 bytes stored, 640 loaded a
// thread). Each product or pass below forms the pointers it uses from these and the kernel's
// parameters (ChunkRefs: the unused ones the compiler drops), so they live for that product only.
// Offsets, not pointers: a pointer read from shared memory is generic to the compiler, and every
// access through it a generic load or store; one formed from a parameter is known to be global.
struct ChunkOffsets {
  int64_t rows_k, rows_o;  // the chunk's first token and head in q, k, dq, dk / dO
  int64_t rows_v, rows_dv;  // in v / dv (rows v_ld / dv_ld apart)
  int64_t state;           // its start state and dS_end
  int64_t chunk;           // ch: its (chunk, head) in the per-chunk scratch
  int64_t token;           // its first token and head in beta, g, dbeta, dg (row stride H)
  float all;               // exp(gamma_last)
};

struct ChunkRefs {
  const float *q, *k, *v, *d_o, *starts, *ds_end, *delta, *d_delta, *u, *w, *qk, *kk, *tinv;
  float *dq, *dk, *dv, *dw, *dbeta, *dg;  // dbeta and dg: of row stride H
  float all;

  __device__ ChunkRefs(const Inputs& in, const Prepared& p, const Saved& saved, const Gradients& grad,
                       const ChunkOffsets& o)
      : q(in.q + o.rows_k), k(in.k + o.rows_k), v(in.v + o.rows_v), d_o(grad.d_o + o.rows_o),
        starts(saved.starts + o.state), ds_end(saved.ds_end + o.state), delta(saved.delta + o.chunk * kChunk * in.dv),
        d_delta(saved.d_delta + o.chunk * kChunk * in.dv), u(p.u + o.chunk * kChunk * in.dv),
        w(p.w + o.chunk * kChunk * in.dk), qk(p.qk + o.chunk * kChunk * kChunk), kk(p.kk + o.chunk * kChunk * kChunk),
        tinv(p.tinv + o.chunk * kChunk * kChunk), dq(grad.dq + o.rows_k), dk(grad.dk + o.rows_k),
        dv(grad.dv + o.rows_dv), dw(saved.dw + o.chunk * kChunk * in.dk), dbeta(grad.dbeta + o.token),
        dg(grad.dg + o.token), all(o.all) {}
};

// Grid (chunks, H): the chunk's input gradients from its start state S, its dS_end, delta and
// d_delta (the backward's order and decay-gradient bookkeeping are the CPU's GdnChunk::backward).
template <ProductPrecision P>
__global__ void __launch_bounds__(kChunkThreads, kBlocksPerSm)
    chunk_backward_kernel(Inputs in, ChunkPlan plan, Prepared p, Saved saved, Gradients grad, int64_t stage_size) {
  extern __shared__ float4 shared[];
  __shared__ double gamma[kChunk];
  __shared__ float beta[kChunk], in_f[kChunk], out_f[kChunk], dgamma[kChunk], dout[kChunk], spans[kChunk];
  __shared__ ChunkOffsets offsets;
  __shared__ float d_all;  // the decay gradient through exp(gamma_last)
  const int n = static_cast<int>(plan.len[blockIdx.x]), H = in.H, Dk = in.dk, Dv = in.dv;
  // A token's row strides in q, k (and dq, dk), dO, v and dv (offsets within a chunk fit an int).
  const int ldk = H * Dk, ldv = H * Dv, ld_vin = static_cast<int>(in.v_ld), ld_dv = static_cast<int>(grad.dv_ld);
  float* stage = reinterpret_cast<float*>(shared);
  float(*prefix)[kPad] = reinterpret_cast<float(*)[kPad]>(stage);
  float(*da)[kPad] = reinterpret_cast<float(*)[kPad]>(stage + stage_size);
  float(*dp)[kPad] = da + kChunk;
  float* dbk = &dp[0][0];  // [kChunk][ldb], until dp is formed in its place
  const int ldb = dbk_ld(Dk);
  {
    const int64_t c = blockIdx.x, row0 = plan.row[c];
    const int h = blockIdx.y;
    const int64_t ch = c * H + h, rows_k = (row0 * H + h) * Dk, rows_o = (row0 * H + h) * Dv;
    const float* factors = p.factors + ch * kFactors;
    if (threadIdx.x == 0)
      offsets = {rows_k, rows_o, row0 * in.v_ld + h * Dv, row0 * grad.dv_ld + h * Dv, ch * Dk * Dv, ch, row0 * H + h,
                 factors[2 * kChunk]};
    gdn_chunk_gamma(in, row0, h, n, gamma);  // its barrier: the offsets are set
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      beta[i] = in.beta[(row0 + i) * H + h];
      in_f[i] = factors[i];
      out_f[i] = factors[kChunk + i];
    }
  }
  // O = diag(in) Q S + qk delta and S_end = all S + K_out^T delta: dq = diag(in) dO S^T so far,
  // dk = diag(out) delta dS^T so far, the decay gradient through exp(gamma_last), all <S, dS>, and
  // (after the per-token pass, in d(beta in K)'s place) dp = dO delta^T, the gradient to the masked qk.
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::full, Along::k, Along::k, Tiles::wide>(
        n, Dk, Dv, [&](int i, int j) { return r.d_o[i * ldv + j]; }, [&](int j, int e) { return r.starts[e * Dv + j]; },
        [&](int i, int e, float s) { r.dq[i * ldk + e] = in_f[i] * s; }, stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::full, Along::k, Along::k, Tiles::wide>(
        n, Dk, Dv, [&](int i, int j) { return r.delta[i * Dv + j]; }, [&](int j, int e) { return r.ds_end[e * Dv + j]; },
        [&](int i, int e, float s) { r.dk[i * ldk + e] = out_f[i] * s; }, stage);
  }
  // delta = U - W S: dW = -d_delta S^T.
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::full, Along::k, Along::k, Tiles::wide>(
        n, Dk, Dv, [&](int i, int j) { return r.d_delta[i * Dv + j]; },
        [&](int j, int e) { return r.starts[e * Dv + j]; }, [&](int i, int e, float s) { r.dw[i * Dk + e] = -s; },
        stage);
  }
  // Entries e = threadIdx.x + k blockDim.x in ascending k, kSdsBatch of S and of dS loaded at once (a
  // thread's loads in flight: S and dS are read from device memory here).
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    double s_ds = 0.0;
    const int64_t state = static_cast<int64_t>(Dk) * Dv;
    for (int64_t e0 = threadIdx.x; e0 < state; e0 += kSdsBatch * blockDim.x) {
      float s[kSdsBatch], d[kSdsBatch];
#pragma unroll
      for (int x = 0; x < kSdsBatch; ++x) {
        const int64_t e = e0 + x * blockDim.x;
        s[x] = e < state ? r.starts[e] : 0.0f;
        d[x] = e < state ? r.ds_end[e] : 0.0f;
      }
#pragma unroll
      for (int x = 0; x < kSdsBatch; ++x)
        if (e0 + x * blockDim.x < state) s_ds += s[x] * d[x];
    }
    const float sum = r.all * static_cast<float>(block_sum(s_ds));
    if (threadIdx.x == 0) d_all = sum;  // read by the same thread at the end
  }
  // U = Tinv diag(beta) V, W = Tinv diag(beta in) K: d(beta V) = Tinv^T d_delta (kept in dv until it
  // is scaled by beta below), d(beta in K) = Tinv^T dW, and through Tinv = (I + A)^{-1},
  // dA = -d(beta V) U^T - d(beta in K) W^T.
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::upper, Along::mn, Along::mn, Tiles::wide>(
        n, Dv, n, [&](int i, int j) { return r.tinv[j * kChunk + i]; },
        [&](int j, int e) { return r.d_delta[j * Dv + e]; }, [&](int i, int e, float s) { r.dv[i * ld_dv + e] = s; },
        stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::upper, Along::mn, Along::mn, Tiles::wide>(
        n, Dk, n, [&](int i, int j) { return r.tinv[j * kChunk + i]; }, [&](int j, int e) { return r.dw[j * Dk + e]; },
        [&](int i, int e, float s) { dbk[i * ldb + e] = s; }, stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::full, Along::k, Along::k, Tiles::square>(
        n, n, Dv, [&](int i, int e) { return r.dv[i * ld_dv + e]; }, [&](int e, int j) { return r.u[j * Dv + e]; },
        [&](int i, int j, float s) { da[i][j] = -s; }, stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::full, Along::k, Along::k, Tiles::square>(
        n, n, Dk, [&](int i, int e) { return dbk[i * ldb + e]; }, [&](int e, int j) { return r.w[j * Dk + e]; },
        [&](int i, int j, float s) { da[i][j] -= s; }, stage);
  }
  __syncthreads();
  // Per token: dbeta, the decay gradients through in_i and out_i, and dv, dk, dq's terms that are
  // not products with the masks. dv and dk are updated where their entries are read for the sums
  // (one pass over memory: a second would wait out its loads after the first's stores). A warp takes
  // kPassTokens tokens at once (i, i + warps, ...), each step loading every token's entries before
  // it stores any (the compiler cannot move a load past a store that might alias it): kPassTokens
  // times the loads in flight. Each token's sums keep their order (ascending e, then the shuffles).
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
    for (int i0 = threadIdx.x / 32; i0 < n; i0 += kPassTokens * warps) {
      int row[kPassTokens];  // the tokens, a past-the-end one replaced by i0 (loaded, never stored)
      bool live[kPassTokens];
      float b[kPassTokens], b_in[kPassTokens];
      float k_dbk[kPassTokens], v_dbv[kPassTokens], q_dq[kPassTokens], k_dk[kPassTokens], da_kk[kPassTokens];
#pragma unroll
      for (int t = 0; t < kPassTokens; ++t) {
        live[t] = i0 + t * warps < n;
        row[t] = live[t] ? i0 + t * warps : i0;
        b[t] = beta[row[t]];
        b_in[t] = b[t] * in_f[row[t]];
        k_dbk[t] = v_dbv[t] = q_dq[t] = k_dk[t] = da_kk[t] = 0.0f;
      }
      for (int e = lane; e < Dk; e += 32) {
        float x[kPassTokens], dk_e[kPassTokens], k_e[kPassTokens], q_e[kPassTokens], dq_e[kPassTokens];
#pragma unroll
        for (int t = 0; t < kPassTokens; ++t) {
          const int at = row[t] * ldk + e;
          x[t] = dbk[row[t] * ldb + e];
          dk_e[t] = r.dk[at];
          k_e[t] = r.k[at];
          q_e[t] = r.q[at];
          dq_e[t] = r.dq[at];
        }
#pragma unroll
        for (int t = 0; t < kPassTokens; ++t) {
          k_dbk[t] += k_e[t] * x[t];
          q_dq[t] += q_e[t] * dq_e[t];
          k_dk[t] += k_e[t] * dk_e[t];
          if (live[t]) r.dk[row[t] * ldk + e] = dk_e[t] + b_in[t] * x[t];
        }
      }
      for (int e = lane; e < Dv; e += 32) {
        float dv_e[kPassTokens], v_e[kPassTokens];
#pragma unroll
        for (int t = 0; t < kPassTokens; ++t) {
          dv_e[t] = r.dv[row[t] * ld_dv + e];
          v_e[t] = r.v[row[t] * ld_vin + e];
        }
#pragma unroll
        for (int t = 0; t < kPassTokens; ++t) {
          v_dbv[t] += v_e[t] * dv_e[t];
          if (live[t]) r.dv[row[t] * ld_dv + e] = dv_e[t] * b[t];
        }
      }
#pragma unroll
      for (int t = 0; t < kPassTokens; ++t)
        for (int j = lane; j < row[t]; j += 32) da_kk[t] += da[row[t]][j] * r.kk[row[t] * kChunk + j];
#pragma unroll
      for (int t = 0; t < kPassTokens; ++t) {
        k_dbk[t] = warp_sum(k_dbk[t]);
        v_dbv[t] = warp_sum(v_dbv[t]);
        q_dq[t] = warp_sum(q_dq[t]);
        k_dk[t] = warp_sum(k_dk[t]);
        da_kk[t] = warp_sum(da_kk[t]);
      }
#pragma unroll
      for (int t = 0; t < kPassTokens; ++t) {
        const int i = row[t];
        if (lane == 0 && live[t]) {
          r.dbeta[i * H] = v_dbv[t] + in_f[i] * k_dbk[t] + da_kk[t];
          dgamma[i] = b[t] * in_f[i] * k_dbk[t] + q_dq[t];
          dout[i] = i < n - 1 ? k_dk[t] : 0.0f;  // the last token's out factor is exp(0)
        }
      }
    }
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::full, Along::k, Along::k, Tiles::square>(  // its first barrier: dbk is read no more
        n, n, Dv, [&](int i, int j) { return r.d_o[i * ldv + j]; }, [&](int e, int j) { return r.delta[j * Dv + e]; },
        [&](int i, int j, float s) { dp[i][j] = s; }, stage);
  }
  __syncthreads();  // dp is whole, and the prefix sums may take the staging
  // Through the mask, from qk and from A: row i's terms dp_ij qk_ij + da_ij A_ij, evaluated by
  // every thread at once (they read qk and kk from global memory), then summed by mask_spans.
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    for_window(n, n, [&](int i, int j) {
      if (j < i) prefix[i][j + 1] = dp[i][j] * r.qk[i * kChunk + j] + da[i][j] * (beta[i] * r.kk[i * kChunk + j]);
    });
  }
  __syncthreads();
  mask_spans(n, prefix, spans, [&](int i, int j) { return prefix[i][j + 1]; });
  // qk = (Q K^T) ⊙ mask and A = diag(beta) (K K^T) ⊙ mask: dp, da become the products' gradients.
  for_window(n, n, [&](int i, int j) {
    const float mask = mask_at(gamma, i, j);
    dp[i][j] = j <= i ? dp[i][j] * mask : 0.0f;
    da[i][j] = j < i ? da[i][j] * beta[i] * mask : 0.0f;
  });
  __syncthreads();
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::lower, Along::k, Along::mn, Tiles::wide>(
        n, Dk, n, [&](int i, int j) { return dp[i][j]; }, [&](int j, int e) { return r.k[j * ldk + e]; },
        [&](int i, int e, float s) { r.dq[i * ldk + e] += s; }, stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::upper, Along::mn, Along::mn, Tiles::wide>(
        n, Dk, n, [&](int i, int j) { return dp[j][i]; }, [&](int j, int e) { return r.q[j * ldk + e]; },
        [&](int i, int e, float s) { r.dk[i * ldk + e] += s; }, stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::lower, Along::k, Along::mn, Tiles::wide>(
        n, Dk, n, [&](int i, int j) { return da[i][j]; }, [&](int j, int e) { return r.k[j * ldk + e]; },
        [&](int i, int e, float s) { r.dk[i * ldk + e] += s; }, stage);
  }
  {
    const ChunkRefs r(in, p, saved, grad, offsets);
    block_mma<P, Band::upper, Along::mn, Along::mn, Tiles::wide>(
        n, Dk, n, [&](int i, int j) { return da[j][i]; }, [&](int j, int e) { return r.k[j * ldk + e]; },
        [&](int i, int e, float s) { r.dk[i * ldk + e] += s; }, stage);
  }
  // gamma is the inclusive cumulative sum of g: dg_m = d_all + sum_{i >= m} dgamma_i +
  // sum_{i < m} dout_i + spans_m, each term carrying exp(g_m).
  // Summed in place in shared memory by one thread, then written out by all (one thread's
  // read-modify-writes of global memory would wait out a load each).
  if (threadIdx.x == 0) log_decay_grad(n, d_all, dgamma, dout, spans, dgamma, 1);
  __syncthreads();
  const ChunkRefs r(in, p, saved, grad, offsets);
  for (int i = threadIdx.x; i < n; i += blockDim.x) r.dg[i * H] = dgamma[i];
}

// ---- host side

// Prepare's outputs for every chunk and head, with the tensors that hold them.
struct PreparedChunks {
  std::vector<Tensor> held;
  Prepared p{};
};

// What a forward on the whole tape keeps for its backward, per chunk and head, in one tensor: the
// start state [dk][dv], prepare's outputs and the delta rows [kChunk][dv]; the backward then
// neither prepares nor forms delta again (same bits: both come from the same kernels). Each block
// starts at a multiple of four floats (16-byte loads), as a tensor of its own would.
struct Kept {
  float* starts;
  Prepared p;
  float* delta;
};

// Prepare's outputs, each `take(floats per chunk and head)`: where its storage is, in one place
// for the scratch of a backward that prepares again and for the kept tensor.
template <typename Take>
Prepared prepared_blocks(const Inputs& in, Take&& take) {
  Prepared p{};
  p.w = take(kChunk * in.dk);
  p.u = take(kChunk * in.dv);
  p.qk = take(kChunk * kChunk);
  p.kk = take(kChunk * kChunk);
  p.tinv = take(kChunk * kChunk);
  p.factors = take(kFactors);
  return p;
}

// The blocks of `kept` in order, each `ch` times its floats per chunk and head, from `base` (null:
// only counted); returns the floats they take.
int64_t carve_kept(float* base, const Inputs& in, const ChunkTable& t, Kept* kept) {
  const int64_t ch = t.chunks * in.H;
  int64_t at = 0;
  auto take = [&](int64_t floats) {
    float* p = base ? base + at : nullptr;
    at += (ch * floats + 3) / 4 * 4;
    return p;
  };
  Kept k{};
  k.starts = take(int64_t{in.dk} * in.dv);
  k.delta = take(kChunk * in.dv);
  k.p = prepared_blocks(in, take);  // the factors last: the one block that is no multiple of four
  if (kept) *kept = k;
  return at;
}

int64_t kept_floats(const Inputs& in, const ChunkTable& t) { return carve_kept(nullptr, in, t, nullptr); }

Kept kept_in(float* base, const Inputs& in, const ChunkTable& t) {
  Kept k{};
  carve_kept(base, in, t, &k);
  return k;
}

template <ProductPrecision P>
void prepare_into(const Inputs& in, const ChunkTable& t, const Prepared& p) {
  if (t.chunks == 0) return;
  const size_t bytes = sizeof(float) * kMmaStageFloats;
  launch_with_shared(prepare_kernel<P>, chunk_grid(t, in.H), kChunkThreads, bytes,
                     "gated_delta: the chunk preparation", in, t.plan(), p);
}

template <ProductPrecision P>
PreparedChunks prepare(const Inputs& in, const ChunkTable& t, Device device) {
  const int64_t ch = t.chunks * in.H;
  PreparedChunks out;
  auto take = [&](int64_t floats) {
    out.held.push_back(scratch(ch * floats, device));
    return static_cast<float*>(out.held.back().device_raw_mut());
  };
  out.p = prepared_blocks(in, take);
  prepare_into<P>(in, t, out.p);
  return out;
}

dim3 sweep_grid(const Inputs& in, int64_t n_seqs) {
  return dim3(static_cast<unsigned>((in.dv + kTile - 1) / kTile), static_cast<unsigned>(in.H),
              static_cast<unsigned>(n_seqs));
}

template <ProductPrecision P>
void forward_sweep(const Inputs& in, const ChunkTable& t, const Prepared& p, const RecurrenceTables& tables,
                   const int64_t* finals, float* o, const SweepKept& kept, bool skip_single) {
  const size_t bytes = gdn_sweep_bytes(in.dk, in.dv);
  launch_with_shared(forward_sweep_kernel<P>, sweep_grid(in, tables.n_seqs), kSweepThreads, bytes,
                     "gated_delta: the forward sweep", in, t.plan(), p,
                     tables.starts(), finals, o, kept, skip_single);
}

Inputs inputs_of(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta) {
  return {static_cast<int>(q.dim(1)), static_cast<int>(q.dim(2)), static_cast<int>(v.count / q.dim(1)),
          f32(q),
          f32(k),
          f32(v),
          f32(g),
          f32(beta),
          v.stride()};
}

template <ProductPrecision P>
void forward_with(const Inputs& in, const Tensor& q, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                  Tensor& o, std::vector<Tensor>* finals, Tensor* chunk_states) {
  if (chunk_states) {
    *chunk_states = Tensor();
    // A carried state may be updated in place, which the sweep and the step kernel below would
    // then both do; and a generation cache has no backward to keep states for.
    for (const SequenceStart& start : starts)
      if (start.carried) fail("internal: gated_delta_forward keeping chunk states over a generation cache");
  }
  RecurrenceTables tables = forward_tables(seqs, starts, {in.H, in.dk, in.dv}, finals != nullptr, q.device());
  // Sequences of one token (decode steps) take the step kernel, the others the chunked form. Kept
  // chunk states are those of every sequence: the sweep then takes the one-token sequences too,
  // and the step kernel writes their outputs over its own (the same bits as when none are kept).
  const int64_t single = single_token_sequences(seqs);
  const int64_t* outs = tables.outs();
  if (single < tables.n_seqs || (chunk_states && tables.n_seqs > 0)) {
    const ChunkTable chunks = chunk_table(seqs, q.device());
    if (chunk_states) {
      *chunk_states = Tensor::empty({kept_floats(in, chunks)}, DType::F32, q.device());
      const Kept kept = kept_in(f32_mut(*chunk_states), in, chunks);
      prepare_into<P>(in, chunks, kept.p);
      forward_sweep<P>(in, chunks, kept.p, tables, outs, f32_mut(o), SweepKept{kept.starts, kept.delta}, false);
    } else {
      const PreparedChunks prepared = prepare<P>(in, chunks, q.device());
      forward_sweep<P>(in, chunks, prepared.p, tables, outs, f32_mut(o), SweepKept{}, single > 0);
    }
  }
  if (single > 0)
    gated_delta_step(in, tables.n_seqs, tables.offsets(), tables.starts(), outs, f32_mut(o), tables.bf16_states);
  hand_over_finals(tables, starts, finals);
}

template <ProductPrecision P>
void backward_with(const Inputs& in, const Tensor& q, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                   const Tensor& d_o, Tensor& dq, Tensor& dk, const Columns& dv, Tensor& dg, Tensor& dbeta,
                   std::vector<Tensor>* d_initial, const Tensor& chunk_states) {
  const Device device = q.device();
  RecurrenceTables tables =
      backward_tables(seqs, starts, {in.H, in.dk, in.dv}, d_initial != nullptr, device, "gated_delta_backward");
  if (tables.n_seqs > 0) {
    const ChunkTable chunks = chunk_table(seqs, device);
    const int64_t ch = chunks.chunks * in.H, state = static_cast<int64_t>(in.dk) * in.dv,
                  rows = static_cast<int64_t>(kChunk) * in.dv;
    const bool kept = !chunk_states.empty();
    if (kept && chunk_states.numel() != kept_floats(in, chunks))
      fail("internal: gated_delta_backward given chunk states of another batch");
    // The chunks' preparation, start states and delta rows: the forward's when it kept them, else
    // prepared again and swept forward by the backward itself.
    PreparedChunks prepared;
    Tensor starts_t, delta_t;
    // The kernels only read what the forward kept (the sweep's SweepKept pointers are writable).
    const Kept k = kept ? kept_in(const_cast<float*>(f32(chunk_states)), in, chunks) : Kept{};
    if (!kept) {
      prepared = prepare<P>(in, chunks, device);
      starts_t = scratch(ch * state, device);
      delta_t = scratch(ch * rows, device);
    }
    const Prepared& p = kept ? k.p : prepared.p;
    Tensor ds_end = scratch(ch * state, device), d_delta = scratch(ch * rows, device);
    Tensor dw = scratch(ch * kChunk * in.dk, device);
    const Saved saved{kept ? k.starts : f32(starts_t), kept ? k.delta : f32_mut(delta_t), f32_mut(ds_end),
                      f32_mut(d_delta), f32_mut(dw)};
    if (!kept)
      forward_sweep<P>(in, chunks, p, tables, nullptr, nullptr, SweepKept{f32_mut(starts_t), saved.delta}, false);
    const size_t sweep_bytes = gdn_sweep_bytes(in.dk, in.dv);
    launch_with_shared(backward_sweep_kernel<P>, sweep_grid(in, tables.n_seqs), kSweepThreads, sweep_bytes,
                       "gated_delta: the backward sweep", in, chunks.plan(), p, f32(d_o),
                       tables.outs(), saved);
    if (chunks.chunks > 0) {
      const size_t bytes = chunk_backward_shared_bytes(in.dk);
      const Gradients grad{f32(d_o), f32_mut(dq), f32_mut(dk), f32_mut(dv), f32_mut(dg), f32_mut(dbeta), dv.stride()};
      launch_with_shared(chunk_backward_kernel<P>, chunk_grid(chunks, in.H), kChunkThreads, bytes,
                         "gated_delta: the chunk backward", in, chunks.plan(), p, saved, grad,
                         chunk_backward_stage());
    }
  }
  if (d_initial) *d_initial = tables.out_states;
}

}  // namespace

void gated_delta_forward(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta,
                         const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& o,
                         std::vector<Tensor>* finals, Tensor* chunk_states, ProductPrecision products) {
  const Inputs in = inputs_of(q, k, v, g, beta);
  if (products == ProductPrecision::tf32)
    forward_with<ProductPrecision::tf32>(in, q, seqs, starts, o, finals, chunk_states);
  else
    forward_with<ProductPrecision::f32>(in, q, seqs, starts, o, finals, chunk_states);
}

void gated_delta_backward(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta,
                          const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_o, Tensor& dq,
                          Tensor& dk, const Columns& dv, Tensor& dg, Tensor& dbeta, std::vector<Tensor>* d_initial,
                          const Tensor& chunk_states, ProductPrecision products) {
  const Inputs in = inputs_of(q, k, v, g, beta);
  if (products == ProductPrecision::tf32)
    backward_with<ProductPrecision::tf32>(in, q, seqs, starts, d_o, dq, dk, dv, dg, dbeta, d_initial, chunk_states);
  else
    backward_with<ProductPrecision::f32>(in, q, seqs, starts, d_o, dq, dk, dv, dg, dbeta, d_initial, chunk_states);
}

}  // namespace s0::ops::cuda
