#include "ops/cuda/ssd.h"

#include <algorithm>
#include <vector>

#include "ops/cuda/block_mma.cuh"
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/recurrence_tables.h"
#include "ops/cuda/ssd_step.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"
#include "ops/log_decay_grad.h"

// The chunked form of the CPU's ops/cpu/ssd_chunked.cpp, whose comment states the math; the names
// follow it. Within a chunk of n tokens starting from state S[P, Ns], with a the cumulative log
// decay (dt A), in_i = exp(a_i), out_i = exp(a_last - a_i), all = exp(a_last), mask_ij =
// exp(a_i - a_j) (j <= i) and U = diag(dt) X:
//   mixing = lower(C B^T ⊙ mask),  Y = mixing U + D X + diag(in) C S^T,
//   S <- all S + U^T diag(out) B.
// Four kernels, as for the gated delta rule (gated_delta.cu):
//   prepare         per (chunk, head): the factors, mixing, and Y's state-independent part;
//   forward sweep   per (sequence, head, kTile rows of the state): the chunks in order, the state
//                   rows in shared memory; adds diag(in) C S^T to Y, writes the finals and, for
//                   the backward, each chunk's start state;
//   backward sweep  the same grid in reverse with dS: keeps each chunk's dS and
//                   dU = mixing^T dY + diag(out) B dS^T;
//   chunk backward  per (chunk, head): dx, ddt and the head's shares of dB and dC, which a last
//                   kernel sums over the heads of each group in a fixed order.
// All arithmetic is f32 (the decay exponents are differences of cumulative sums kept in double),
// the chunk products on the tensor cores in 3xTF32 or, when asked, TF32 (block_mma.cuh,
// ops/product_precision.h; each kernel is a template on that); every sum has a fixed order and
// nothing accumulates across blocks: the same bits run to run, and a sequence's results do not
// depend on the rest of the batch.

namespace s0::ops::cuda {

namespace {

// State rows (p) per sweep block: 64 fills block_mma's 64-row tiles (the products' M or N).
constexpr int kTile = 64;
constexpr int kSweepThreads = kMmaThreads;
constexpr int kChunkThreads = kMmaThreads;
// The per-chunk kernels run two blocks to an SM: __launch_bounds__(threads, kChunkBlocksPerSm) caps
// them at 128 registers a thread (left alone, ptxas took 182 for prepare and 220 for the chunk
// backward, and one block ran alone on its SM). A sweep block's state rows take most of an SM's
// shared memory at Falcon-H1's state ([64][256] floats beside the staging): one block an SM.
constexpr int kChunkBlocksPerSm = 2;

using Inputs = SsdInputs;

// Per chunk and head (index ch = c * H + h): mixing [ch][kChunk][kChunk] (rows and columns >= the
// chunk's length never read), factors [ch][kFactors].
struct Prepared {
  float *mixing, *factors;
};

// What the backward keeps per chunk and head: the start state and the dS entering its backward
// [ch][P][Ns], and dU [ch][kChunk][P].
struct Saved {
  float *starts, *ds_end, *du;
};

// Grid (chunks, H). y null: Y is not wanted (the backward's recomputation).
template <ProductPrecision Products>
__global__ void __launch_bounds__(kChunkThreads, kChunkBlocksPerSm) prepare_kernel(Inputs in, ChunkPlan plan, Prepared p, float* y) {
  extern __shared__ float4 shared[];
  float* stage = reinterpret_cast<float*>(shared);
  __shared__ double gamma[kChunk];
  __shared__ float mixing[kChunk][kPad], dts[kChunk];
  const int64_t c = blockIdx.x, row0 = plan.row[c];
  const int h = blockIdx.y, n = static_cast<int>(plan.len[c]), H = in.H, P = in.P, Ns = in.Ns;
  const int64_t ch = c * H + h, ldx = static_cast<int64_t>(H) * P, ldbc = static_cast<int64_t>(in.G) * Ns;
  const float* X = in.x + (row0 * H + h) * P;
  const float* Bm = in.B + in.group_row(row0, h);
  const float* Cm = in.C + in.group_row(row0, h);
  const float a = in.A[h];
  chunk_gamma(n, [&](int i) { return static_cast<double>(in.dt[(row0 + i) * H + h]) * a; }, gamma);
  store_factors(gamma, n, p.factors + ch * kFactors);
  for (int i = threadIdx.x; i < n; i += blockDim.x) dts[i] = in.dt[(row0 + i) * H + h];
  float* mixing_out = p.mixing + ch * kChunk * kChunk;
  block_mma<Products, Band::full, Along::k, Along::k, Tiles::square>(
      n, n, Ns, [&](int i, int e) { return Cm[i * ldbc + e]; }, [&](int e, int j) { return Bm[j * ldbc + e]; },
      [&](int i, int j, float s) {
        const float m = j <= i ? s * mask_at(gamma, i, j) : 0.0f;
        mixing[i][j] = m;
        mixing_out[i * kChunk + j] = m;
      },
      stage);
  if (!y) return;
  // Y = mixing U + D X (the state's part comes in the sweep).
  float* Y = y + (row0 * H + h) * P;
  const float skip = in.D[h];
  block_mma<Products, Band::lower, Along::k, Along::mn, Tiles::wide>(
      n, P, n, [&](int i, int j) { return mixing[i][j]; }, [&](int j, int q) { return dts[j] * X[j * ldx + q]; },
      [&](int i, int q, float s) { Y[i * ldx + q] = skip * X[i * ldx + q] + s; }, stage);
}

// One sweep block's view: its sequence, head and state rows [p0, p0 + tp); its shared memory holds
// those rows of the state [kTile][Ns] (S or dS) and a [kChunk][kTile] tile of dU rows.
struct SweepBlock : SweepShared {
  int s, h, p0, tp;

  __device__ SweepBlock(const ChunkPlan& plan, int P, int Ns, float* shared)
      : SweepShared(shared, kMmaStageFloats, kTile * Ns, kChunk * kTile), s(swept_sequence(plan)), h(blockIdx.y),
        p0(blockIdx.x * kTile), tp(min(kTile, P - p0)) {}

  // Copies the rows between shared memory and a [P][Ns] state at `state` (null: zeros, or none).
  __device__ void load(const float* state, int Ns) {
    load_window(tile, Ns, state ? state + static_cast<int64_t>(p0) * Ns : nullptr, Ns, tp, Ns);
  }
  __device__ void store(float* state, int Ns) const {
    store_window(tile, Ns, state ? state + static_cast<int64_t>(p0) * Ns : nullptr, Ns, tp, Ns);
  }
};

size_t ssd_sweep_bytes(int P, int Ns) {
  return sweep_shared_bytes(kMmaStageFloats, int64_t{kTile} * Ns, int64_t{kChunk} * kTile);
}

// Grid (ceil(P / kTile), H, n_seqs). y null: no outputs; finals null or a table of addresses (0 =
// not wanted); starts_kept null: the chunks' start states are not kept. With `skip_single`,
// sequences of one token are left to the step kernel (ssd_step.cuh).
template <ProductPrecision Products>
__global__ void __launch_bounds__(kSweepThreads) forward_sweep_kernel(Inputs in, ChunkPlan plan, Prepared p,
                                                                      const int64_t* starts, const int64_t* finals,
                                                                      float* y, float* starts_kept, bool skip_single) {
  extern __shared__ float4 shared[];
  const int H = in.H, P = in.P, Ns = in.Ns;
  if (skip_single && single_token(plan, swept_sequence(plan))) return;
  SweepBlock b(plan, P, Ns, reinterpret_cast<float*>(shared));
  const int64_t head = static_cast<int64_t>(b.h) * P * Ns, ldx = static_cast<int64_t>(H) * P,
                ldbc = static_cast<int64_t>(in.G) * Ns;
  const float* start = reinterpret_cast<const float*>(starts[b.s]);
  b.load(start ? start + head : nullptr, Ns);
  float* S = b.tile;
  for (int64_t c = plan.base[b.s]; c < plan.base[b.s + 1]; ++c) {
    const int64_t row0 = plan.row[c], ch = c * H + b.h;
    const int n = static_cast<int>(plan.len[c]);
    b.load_factors(p.factors + ch * kFactors, n);
    if (starts_kept) b.store(starts_kept + ch * P * Ns, Ns);
    const float* X = in.x + (row0 * H + b.h) * P + b.p0;
    const float* dt = in.dt + row0 * H + b.h;
    const float* Bm = in.B + in.group_row(row0, b.h);
    if (y) {
      // Y += diag(in) C S^T
      const float* Cm = in.C + in.group_row(row0, b.h);
      float* Y = y + (row0 * H + b.h) * P + b.p0;
      block_mma<Products, Band::full, Along::k, Along::k, Tiles::square>(
          n, b.tp, Ns, [&](int i, int e) { return Cm[i * ldbc + e]; }, [&](int e, int q) { return S[q * Ns + e]; },
          [&](int i, int q, float s) { Y[i * ldx + q] += b.in_f[i] * s; }, b.stage);
    }
    // S = all S + U^T diag(out) B (block_mma's first barrier: every read of S above is done)
    block_mma<Products, Band::full, Along::mn, Along::mn, Tiles::wide>(
        b.tp, Ns, n, [&](int q, int i) { return dt[i * H] * X[i * ldx + q]; },
        [&](int i, int e) { return b.out_f[i] * Bm[i * ldbc + e]; },
        [&](int q, int e, float s) { S[q * Ns + e] = *b.all * S[q * Ns + e] + s; }, b.stage);
    __syncthreads();  // S is whole again, and the factors may be replaced
  }
  if (finals && finals[b.s]) b.store(reinterpret_cast<float*>(finals[b.s]) + head, Ns);
}

// Grid (ceil(P / kTile), H, n_seqs): dS from zero after each sequence's last token to its start,
// into d_initial[s] (an address, 0 = not wanted).
template <ProductPrecision Products>
__global__ void __launch_bounds__(kSweepThreads) backward_sweep_kernel(Inputs in, ChunkPlan plan, Prepared p,
                                                                       const float* d_y, const int64_t* d_initial,
                                                                       Saved saved) {
  extern __shared__ float4 shared[];
  const int H = in.H, P = in.P, Ns = in.Ns;
  SweepBlock b(plan, P, Ns, reinterpret_cast<float*>(shared));
  const int64_t ldx = static_cast<int64_t>(H) * P, ldbc = static_cast<int64_t>(in.G) * Ns;
  b.load(nullptr, Ns);
  float *dS = b.tile, *du = b.rows;
  for (int64_t c = plan.base[b.s + 1] - 1; c >= plan.base[b.s]; --c) {
    const int64_t row0 = plan.row[c], ch = c * H + b.h;
    const int n = static_cast<int>(plan.len[c]);
    b.load_factors(p.factors + ch * kFactors, n);
    b.store(saved.ds_end + ch * P * Ns, Ns);
    const float* mixing = p.mixing + ch * kChunk * kChunk;
    const float* dY = d_y + (row0 * H + b.h) * P + b.p0;
    const float* Bm = in.B + in.group_row(row0, b.h);
    const float* Cm = in.C + in.group_row(row0, b.h);
    // dU = mixing^T dY + diag(out) B dS^T
    block_mma<Products, Band::upper, Along::mn, Along::mn, Tiles::square>(
        n, b.tp, n, [&](int i, int j) { return mixing[j * kChunk + i]; }, [&](int j, int q) { return dY[j * ldx + q]; },
        [&](int i, int q, float s) { du[i * kTile + q] = s; }, b.stage);
    block_mma<Products, Band::full, Along::k, Along::k, Tiles::square>(
        n, b.tp, Ns, [&](int i, int e) { return Bm[i * ldbc + e]; }, [&](int e, int q) { return dS[q * Ns + e]; },
        [&](int i, int q, float s) { du[i * kTile + q] += b.out_f[i] * s; }, b.stage);
    __syncthreads();
    store_window(du, kTile, saved.du + ch * kChunk * P + b.p0, P, n, b.tp);
    // dS = all dS + dY^T diag(in) C (the product's first barrier: dS is read no more)
    block_mma<Products, Band::full, Along::mn, Along::mn, Tiles::wide>(
        b.tp, Ns, n, [&](int q, int i) { return dY[i * ldx + q]; },
        [&](int i, int e) { return b.in_f[i] * Cm[i * ldbc + e]; },
        [&](int q, int e, float s) { dS[q * Ns + e] = *b.all * dS[q * Ns + e] + s; }, b.stage);
    __syncthreads();  // dS is whole again, and the factors may be replaced
  }
  const int64_t head = static_cast<int64_t>(b.h) * P * Ns;
  if (d_initial[b.s]) b.store(reinterpret_cast<float*>(d_initial[b.s]) + head, Ns);
}

struct Gradients {
  const float* d_y;
  float *dx, *ddt, *dB_heads, *dC_heads;  // dB_heads, dC_heads [N, H, Ns]: each head's share
};

// Shared floats of the chunk backward: block_mma's staging, which the mask-gradient prefix sums
// [kChunk][kPad] reuse between products, then d(mixing) [kChunk][kPad].
constexpr int64_t kChunkBackwardStage = std::max<int64_t>(kMmaStageFloats, kChunk * kPad);
constexpr size_t kChunkBackwardSharedBytes = sizeof(float) * static_cast<size_t>(kChunkBackwardStage + kChunk * kPad);

// Grid (chunks, H): the chunk's dx, ddt and this head's shares of dB and dC, from its start state
// S, its dS_end and dU (the CPU's SsdChunk::backward).
template <ProductPrecision Products>
__global__ void __launch_bounds__(kChunkThreads, kChunkBlocksPerSm) chunk_backward_kernel(Inputs in, ChunkPlan plan, Prepared p,
                                                                       Saved saved, Gradients grad) {
  extern __shared__ float4 shared[];
  __shared__ double gamma[kChunk];
  __shared__ float in_f[kChunk], out_f[kChunk], dts[kChunk], da[kChunk], dout[kChunk], spans[kChunk];
  const int64_t c = blockIdx.x, row0 = plan.row[c];
  const int h = blockIdx.y, n = static_cast<int>(plan.len[c]), H = in.H, P = in.P, Ns = in.Ns;
  const int64_t ch = c * H + h, ldx = static_cast<int64_t>(H) * P, ldbc = static_cast<int64_t>(in.G) * Ns,
                ldh = static_cast<int64_t>(H) * Ns;
  float* stage = reinterpret_cast<float*>(shared);
  float(*prefix)[kPad] = reinterpret_cast<float(*)[kPad]>(stage);
  float(*dmix)[kPad] = reinterpret_cast<float(*)[kPad]>(stage + kChunkBackwardStage);
  const float* X = in.x + (row0 * H + h) * P;
  const float* Bm = in.B + in.group_row(row0, h);
  const float* Cm = in.C + in.group_row(row0, h);
  const float* dY = grad.d_y + (row0 * H + h) * P;
  float* dX = grad.dx + (row0 * H + h) * P;
  float* dB = grad.dB_heads + (row0 * H + h) * Ns;
  float* dC = grad.dC_heads + (row0 * H + h) * Ns;
  const float* S = saved.starts + ch * P * Ns;
  const float* dS = saved.ds_end + ch * P * Ns;
  const float* dU = saved.du + ch * kChunk * P;
  const float* mixing = p.mixing + ch * kChunk * kChunk;
  const float* factors = p.factors + ch * kFactors;
  const float a = in.A[h], skip = in.D[h];
  chunk_gamma(n, [&](int i) { return static_cast<double>(in.dt[(row0 + i) * H + h]) * a; }, gamma);
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    in_f[i] = factors[i];
    out_f[i] = factors[kChunk + i];
    dts[i] = in.dt[(row0 + i) * H + h];
  }
  auto dy_at = [&](int i, int q) { return dY[i * ldx + q]; };
  // Y = mixing U + diag(in) C S^T: d(mixing) = dY U^T; the share of dC through C S^T, in dY S
  // (scaled by in), and that of dB through S_end = all S + U^T diag(out) B, in U dS_end (scaled
  // by out); the decay gradient through all, all <S, dS_end>.
  block_mma<Products, Band::full, Along::k, Along::k, Tiles::square>(
      n, n, P, dy_at, [&](int q, int j) { return dts[j] * X[j * ldx + q]; },
      [&](int i, int j, float s) { dmix[i][j] = s; }, stage);
  block_mma<Products, Band::full, Along::k, Along::mn, Tiles::wide>(
      n, Ns, P, dy_at, [&](int q, int e) { return S[static_cast<int64_t>(q) * Ns + e]; },
      [&](int i, int e, float s) { dC[i * ldh + e] = in_f[i] * s; }, stage);
  block_mma<Products, Band::full, Along::k, Along::mn, Tiles::wide>(
      n, Ns, P, [&](int i, int q) { return dts[i] * X[i * ldx + q]; },
      [&](int q, int e) { return dS[static_cast<int64_t>(q) * Ns + e]; },
      [&](int i, int e, float s) { dB[i * ldh + e] = out_f[i] * s; }, stage);
  double s_ds = 0.0;
  for (int64_t e = threadIdx.x; e < static_cast<int64_t>(P) * Ns; e += blockDim.x) s_ds += S[e] * dS[e];
  const float d_all = factors[2 * kChunk] * static_cast<float>(block_sum(s_ds));  // barriers inside
  // Through the mask: row i's terms d(mixing)_ij mixing_ij.
  mask_spans(n, prefix, spans, [&](int i, int j) { return dmix[i][j] * mixing[i * kChunk + j]; });
  // Per token, one warp each: the decay gradients through in_i (from C S^T) and out_i (from B).
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int i = threadIdx.x / 32; i < n; i += warps) {
    float c_dc = 0.0f, b_db = 0.0f;
    for (int e = lane; e < Ns; e += 32) {
      c_dc += Cm[i * ldbc + e] * dC[i * ldh + e];
      b_db += Bm[i * ldbc + e] * dB[i * ldh + e];
    }
    c_dc = warp_sum(c_dc);
    b_db = warp_sum(b_db);
    if (lane == 0) {
      da[i] = c_dc;
      dout[i] = i < n - 1 ? b_db : 0.0f;  // the last token's out factor is exp(0)
    }
  }
  __syncthreads();
  // mixing = (C B^T) ⊙ mask: d(mixing) becomes the product's gradient.
  for (int e = threadIdx.x; e < n * n; e += blockDim.x) {
    const int i = e / n, j = e % n;
    dmix[i][j] = j <= i ? dmix[i][j] * mask_at(gamma, i, j) : 0.0f;
  }
  block_mma<Products, Band::lower, Along::k, Along::mn, Tiles::wide>(
      n, Ns, n, [&](int i, int j) { return dmix[i][j]; }, [&](int j, int e) { return Bm[j * ldbc + e]; },
      [&](int i, int e, float s) { dC[i * ldh + e] += s; }, stage);
  block_mma<Products, Band::upper, Along::mn, Along::mn, Tiles::wide>(
      n, Ns, n, [&](int i, int j) { return dmix[j][i]; }, [&](int j, int e) { return Cm[j * ldbc + e]; },
      [&](int i, int e, float s) { dB[i * ldh + e] += s; }, stage);
  // The gradient of each token's log decay dt A, in place of da; then U = diag(dt) X and the skip
  // term D X.
  if (threadIdx.x == 0) log_decay_grad(n, d_all, da, dout, spans, da, 1);
  __syncthreads();
  for (int i = threadIdx.x / 32; i < n; i += warps) {
    float x_du = 0.0f;
    for (int q = lane; q < P; q += 32) x_du += X[i * ldx + q] * dU[i * P + q];
    x_du = warp_sum(x_du);
    if (lane == 0) grad.ddt[(row0 + i) * H + h] = x_du + a * da[i];
    for (int q = lane; q < P; q += 32) dX[i * ldx + q] = skip * dY[i * ldx + q] + dts[i] * dU[i * P + q];
  }
}

// dB[row, g] = the sum of its heads' shares, heads in ascending order (a fixed order: no atomics).
__global__ void sum_group_heads_kernel(const float* heads, int64_t rows, int64_t H, int64_t G, int64_t Ns, float* out) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= rows * G * Ns) return;
  const int64_t n = e % Ns, grp = (e / Ns) % G, row = e / (G * Ns), per_group = H / G;
  float sum = 0.0f;
  for (int64_t h = grp * per_group; h < (grp + 1) * per_group; ++h) sum += heads[(row * H + h) * Ns + n];
  out[e] = sum;
}

void sum_group_heads(const Tensor& heads, int64_t rows, int64_t H, int64_t G, int64_t Ns, Tensor& out) {
  const int64_t n = rows * G * Ns;
  if (n == 0) return;
  sum_group_heads_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream()>>>(
      f32(heads), rows, H, G, Ns, f32_mut(out));
  check_launch("sum_group_heads_kernel");
}

// ---- host side

Inputs inputs_of(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D) {
  return {static_cast<int>(x.dim(1)), static_cast<int>(x.dim(2)), static_cast<int>(B.dim(1)),
          static_cast<int>(B.dim(2)), f32(x), f32(dt), f32(A), f32(B), f32(C), f32(D)};
}

// Prepare's outputs for every chunk and head, with the tensors that hold them.
struct PreparedChunks {
  Tensor mixing, factors;
  Prepared p{};
};

template <ProductPrecision Products>
PreparedChunks prepare(const Inputs& in, const ChunkTable& t, float* y, Device device) {
  const int64_t ch = t.chunks * in.H;
  PreparedChunks out{scratch(ch * kChunk * kChunk, device), scratch(ch * kFactors, device), {}};
  out.p = {f32_mut(out.mixing), f32_mut(out.factors)};
  if (t.chunks == 0) return out;
  const size_t bytes = sizeof(float) * kMmaStageFloats;
  launch_with_shared(prepare_kernel<Products>, chunk_grid(t, in.H), kChunkThreads, bytes,
                     "ssd: the chunk preparation", in, t.plan(), out.p, y);
  return out;
}

dim3 sweep_grid(const Inputs& in, int64_t n_seqs) {
  return dim3(static_cast<unsigned>((in.P + kTile - 1) / kTile), static_cast<unsigned>(in.H),
              static_cast<unsigned>(n_seqs));
}

template <ProductPrecision Products>
void forward_sweep(const Inputs& in, const ChunkTable& t, const Prepared& p, const RecurrenceTables& tables,
                   const int64_t* finals, float* y, float* starts_kept, bool skip_single) {
  const size_t bytes = ssd_sweep_bytes(in.P, in.Ns);
  launch_with_shared(forward_sweep_kernel<Products>, sweep_grid(in, tables.n_seqs), kSweepThreads, bytes,
                     "ssd: the forward sweep", in, t.plan(), p, tables.starts(),
                     finals, y, starts_kept, skip_single);
}

template <ProductPrecision Products>
void forward_with(const Inputs& in, const Tensor& x, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                  Tensor& y, std::vector<Tensor>* finals) {
  RecurrenceTables tables = forward_tables(seqs, starts, {in.H, in.P, in.Ns}, finals != nullptr, x.device());
  // Sequences of one token (decode steps) take the step kernel, the others the chunked form (whose
  // preparation also writes the single tokens' rows of y; the step kernel then writes them whole).
  const int64_t single = single_token_sequences(seqs);
  const int64_t* outs = tables.outs();
  if (single < tables.n_seqs) {
    const ChunkTable chunks = chunk_table(seqs, x.device());
    const PreparedChunks prepared = prepare<Products>(in, chunks, f32_mut(y), x.device());
    forward_sweep<Products>(in, chunks, prepared.p, tables, outs, f32_mut(y), nullptr, single > 0);
  }
  if (single > 0) ssd_step(in, tables.n_seqs, tables.offsets(), tables.starts(), outs, f32_mut(y), tables.bf16_states);
  hand_over_finals(tables, starts, finals);
}

template <ProductPrecision Products>
void backward_with(const Inputs& in, const Tensor& x, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                   const Tensor& d_y, Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC,
                   std::vector<Tensor>* d_initial) {
  const Device device = x.device();
  const int64_t rows = seqs.rows();
  RecurrenceTables tables =
      backward_tables(seqs, starts, {in.H, in.P, in.Ns}, d_initial != nullptr, device, "ssd_backward");
  if (tables.n_seqs > 0) {
    const ChunkTable chunks = chunk_table(seqs, device);
    const PreparedChunks prepared = prepare<Products>(in, chunks, nullptr, device);
    const int64_t ch = chunks.chunks * in.H, state = static_cast<int64_t>(in.P) * in.Ns;
    Tensor starts_kept = scratch(ch * state, device), ds_end = scratch(ch * state, device);
    Tensor du = scratch(ch * kChunk * in.P, device);
    const Saved saved{f32_mut(starts_kept), f32_mut(ds_end), f32_mut(du)};
    forward_sweep<Products>(in, chunks, prepared.p, tables, nullptr, nullptr, saved.starts, false);
    const size_t sweep_bytes = ssd_sweep_bytes(in.P, in.Ns);
    launch_with_shared(backward_sweep_kernel<Products>, sweep_grid(in, tables.n_seqs), kSweepThreads, sweep_bytes,
                       "ssd: the backward sweep", in, chunks.plan(), prepared.p, f32(d_y),
                       tables.outs(), saved);
    if (chunks.chunks > 0) {
      Tensor dB_heads = Tensor::empty({rows, in.H, in.Ns}, DType::F32, device);
      Tensor dC_heads = Tensor::empty({rows, in.H, in.Ns}, DType::F32, device);
      const Gradients grad{f32(d_y), f32_mut(dx), f32_mut(ddt), f32_mut(dB_heads), f32_mut(dC_heads)};
      launch_with_shared(chunk_backward_kernel<Products>, chunk_grid(chunks, in.H), kChunkThreads,
                         kChunkBackwardSharedBytes, "ssd: the chunk backward", in, chunks.plan(), prepared.p, saved,
                         grad);
      sum_group_heads(dB_heads, rows, in.H, in.G, in.Ns, dB);
      sum_group_heads(dC_heads, rows, in.H, in.G, in.Ns, dC);
    }
  }
  if (d_initial) *d_initial = tables.out_states;
}

}  // namespace

void ssd_forward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& y,
                 std::vector<Tensor>* finals, ProductPrecision products) {
  const Inputs in = inputs_of(x, dt, A, B, C, D);
  if (products == ProductPrecision::tf32)
    forward_with<ProductPrecision::tf32>(in, x, seqs, starts, y, finals);
  else
    forward_with<ProductPrecision::f32>(in, x, seqs, starts, y, finals);
}

void ssd_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_y,
                  Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC, std::vector<Tensor>* d_initial,
                  ProductPrecision products) {
  const Inputs in = inputs_of(x, dt, A, B, C, D);
  if (products == ProductPrecision::tf32)
    backward_with<ProductPrecision::tf32>(in, x, seqs, starts, d_y, dx, ddt, dB, dC, d_initial);
  else
    backward_with<ProductPrecision::f32>(in, x, seqs, starts, d_y, dx, ddt, dB, dC, d_initial);
}

}  // namespace s0::ops::cuda
