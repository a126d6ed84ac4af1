#include "ops/cuda/attention.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "ops/cuda/attention_decode.h"
#include "ops/cuda/attention_tiles.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/rows.h"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

// Rows of the other side per staged tile: 64 keys in the forward; 32 in the backward kernels, whose
// four [rows][DP + 4] tiles must fit the shared memory at DP = 256.
constexpr int kForwardTile = 64;
constexpr int kBackwardTile = 32;

struct Layout {
  int64_t H, Hkv, D;
  float scale;
  const int64_t* offsets;
  const int64_t* blocks;  // per row block: its sequence and first row (pairs), heaviest first
  // Forward with KV caches: per sequence, the addresses of the cache's key and value rows and the
  // rows cached before this call (its own rows follow them). All null without caches: keys and
  // values are then the sequence's own rows of k and v.
  const int64_t* cache_k;
  const int64_t* cache_v;
  const int64_t* past;
  bool async;  // rows of q, k, v, dout (and the caches) may be staged by 16-byte cp.async copies
};

// Whether every row a kernel stages starts 16-byte aligned: head dim a multiple of 4 floats and
// tensors that start aligned (cp.async copies 16 bytes from an aligned address).
bool rows_aligned(int64_t D, const std::vector<const void*>& starts) {
  if (D % 4 != 0) return false;
  for (const void* p : starts)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

// The block's (sequence, first row), head, and its sequence's packed offset and length. Blocks run
// through the row blocks' table with the `heads` heads of each row block consecutive, so the GPU
// starts the heaviest row blocks of every head first and the light ones fill the tail. Row counts
// within a sequence fit 32 bits (fewer registers for the kernels' index arithmetic).
struct BlockRows {
  int s, first, head;
  int64_t b;
  int T;
};

__device__ BlockRows block_rows(const Layout& L, int64_t heads) {
  const int at = static_cast<int>(blockIdx.x / heads), head = static_cast<int>(blockIdx.x % heads);
  const int s = static_cast<int>(L.blocks[2 * at]), first = static_cast<int>(L.blocks[2 * at + 1]);
  const int64_t b = L.offsets[s];
  return {s, first, head, b, static_cast<int>(L.offsets[s + 1] - b)};
}

template <int DP>
constexpr size_t tile_bytes(int rows) {
  return sizeof(float) * static_cast<size_t>(rows) * row_stride<DP>();
}

template <int Bc>
constexpr size_t weight_bytes() {
  return sizeof(float) * static_cast<size_t>(kRows) * weight_ld<Bc>();
}

// The backward kernels' shared memory: the block's own two row tiles ([kRows][DP + 4]: q and dout
// for dq, k and v for dk/dv), the other side's two ([Bc][DP + 4]), two weight tiles
// ([kRows][weight_ld<Bc>()]) and two vectors of Bc floats.
template <int DP, int Bc>
struct BackwardTiles {
  float *own0, *own1, *other0, *other1, *weights0, *weights1, *vec0, *vec1;

  static constexpr size_t bytes() {
    return 2 * tile_bytes<DP>(kRows) + 2 * tile_bytes<DP>(Bc) + 2 * weight_bytes<Bc>() + 2 * sizeof(float) * Bc;
  }

  __device__ explicit BackwardTiles(float* base)
      : own0(base),
        own1(own0 + kRows * row_stride<DP>()),
        other0(own1 + kRows * row_stride<DP>()),
        other1(other0 + Bc * row_stride<DP>()),
        weights0(other1 + Bc * row_stride<DP>()),
        weights1(weights0 + kRows * weight_ld<Bc>()),
        vec0(weights1 + kRows * weight_ld<Bc>()),
        vec1(vec0 + Bc) {}
};

// Forward, one block per 64 queries of one head: the online softmax (a running max m and sum l of
// exp(score - m) per query) over key tiles, so no [T, T] matrix exists. Query i (of T, after `past`
// cached rows) sees keys 0 .. past + i. The next tile's keys travel while this tile's softmax and
// values are worked on, its values while the next scores are. The output's rows are in fragments
// (attention_tiles.cuh); the softmax's per-row factors reach them through `factor` in shared memory.
template <ProductPrecision P, int DP>
__global__ void __launch_bounds__(kThreads, 1)
    attention_forward_kernel(Layout L, const float* q, const float* k, const float* v, float* out, float* lse) {
  constexpr int Bc = kForwardTile, J = Bc / kRowThreads;
  extern __shared__ float4 smem4[];
  float* qs = reinterpret_cast<float*>(smem4);
  float* ks = qs + kRows * row_stride<DP>();
  float* vs = ks + Bc * row_stride<DP>();
  float* ps = vs + Bc * row_stride<DP>();
  float* factor = ps + kRows * weight_ld<Bc>();  // [kRows]: each row's rescale, then 1 / l
  const BlockRows br = block_rows(L, L.H);
  const int64_t h = br.head, kh = h / (L.H / L.Hkv), D = L.D, q_stride = L.H * D, kv_stride = L.Hkv * D;
  const bool cached = L.past != nullptr;
  const int64_t past = cached ? L.past[br.s] : 0, n_keys = past + br.T;
  const float* keys = (cached ? reinterpret_cast<const float*>(L.cache_k[br.s]) : k + br.b * kv_stride) + kh * D;
  const float* values = (cached ? reinterpret_cast<const float*>(L.cache_v[br.s]) : v + br.b * kv_stride) + kh * D;
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;

  // The keys the block's queries can see: [0, last).
  const int64_t last = min(past + br.first + kRows, n_keys);
  stage_rows<DP, kRows>(qs, q + (br.b + br.first) * q_stride + h * D, q_stride, br.T - br.first, D, L.async);
  commit_stage();
  stage_rows<DP, Bc>(ks, keys, kv_stride, n_keys, D, L.async);
  commit_stage();
  stage_rows<DP, Bc>(vs, values, kv_stride, n_keys, D, L.async);
  commit_stage();
  RowsAcc<DP> acc = {};
  float m[kRowsPerThread], l[kRowsPerThread];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.0f;
  }
  const WarpTile w;
  for (int64_t j0 = 0; j0 < last; j0 += Bc) {
    const bool more = j0 + Bc < last;
    wait_stages<1>();  // this tile's keys (its values may still travel)
    __syncthreads();
    float s[kRowsPerThread][J];
    score_tile<P, DP, Bc>(qs, ks, ps, s);  // the last tile's weights are used up
    __syncthreads();  // the keys (and the scores' scratch) are used up: the next tile's keys may come
    if (more) stage_rows<DP, Bc>(ks, keys + (j0 + Bc) * kv_stride, kv_stride, n_keys - j0 - Bc, D, L.async);
    commit_stage();
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
      const int64_t qi = br.first + ty + kRowThreads * i;
      float mx = m[i];
#pragma unroll
      for (int j = 0; j < J; ++j) {
        const int64_t kj = j0 + tx + kRowThreads * j;
        s[i][j] = qi < br.T && kj <= past + qi ? L.scale * s[i][j] : -INFINITY;
        mx = fmaxf(mx, s[i][j]);
      }
      mx = row_max(mx);
      // Rows with nothing visible yet (past the sequence's end) keep m = -inf and p = 0.
      const float rescale = mx == -INFINITY ? 0.0f : expf(m[i] - mx);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < J; ++j) {
        s[i][j] = s[i][j] == -INFINITY ? 0.0f : expf(s[i][j] - mx);
        sum += s[i][j];
      }
      l[i] = l[i] * rescale + row_sum(sum);
      m[i] = mx;
      if (tx == 0) factor[ty + kRowThreads * i] = rescale;
    }
    store_weights<Bc>(ps, s);
    wait_stages<1>();  // this tile's values (the next keys may still travel)
    __syncthreads();
#pragma unroll
    for (int t = 0; t < DP / 16; ++t)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[t][c] *= factor[acc_row(w, c)];
    accumulate_tile<P, DP, Bc>(ps, vs, acc);
    __syncthreads();  // the values and weights are used up
    if (more) stage_rows<DP, Bc>(vs, values + (j0 + Bc) * kv_stride, kv_stride, n_keys - j0 - Bc, D, L.async);
    commit_stage();
  }
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    const int64_t qi = br.first + ty + kRowThreads * i;
    if (tx == 0) factor[ty + kRowThreads * i] = 1.0f / l[i];
    if (tx == 0 && qi < br.T) lse[L.H * br.b + h * br.T + qi] = m[i] + logf(l[i]);
  }
  __syncthreads();
  write_rows<DP>(acc, [&](int r) { return factor[r]; }, out + (br.b + br.first) * q_stride + h * D, q_stride,
                 br.T - br.first, D);
}

// Backward to q, one block per 64 queries of one head: with P_ij = exp(scale q_i . k_j - lse_i) and
// dS_ij = P_ij (dout_i . v_j - delta_i), delta_i = dout_i . out_i (kept for the dk/dv kernel),
// dq_i = scale sum_j dS_ij k_j. The next tile's values travel while dq accumulates, its keys while the
// next dout . v scores are computed.
template <ProductPrecision P, int DP>
__global__ void __launch_bounds__(kThreads, 1)
    attention_dq_kernel(Layout L, const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* delta) {
  constexpr int Bc = kBackwardTile, J = Bc / kRowThreads;
  extern __shared__ float4 smem4[];
  const BackwardTiles<DP, Bc> tiles(reinterpret_cast<float*>(smem4));
  float *qs = tiles.own0, *dos = tiles.own1, *ks = tiles.other0, *vs = tiles.other1, *dss = tiles.weights0;
  const BlockRows br = block_rows(L, L.H);
  const int64_t h = br.head, kh = h / (L.H / L.Hkv), D = L.D, q_stride = L.H * D, kv_stride = L.Hkv * D;
  const int64_t rows_at = (br.b + br.first) * q_stride + h * D, valid = br.T - br.first;
  const float* keys = k + br.b * kv_stride + kh * D;
  const float* values = v + br.b * kv_stride + kh * D;
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;

  const int64_t last = min(br.first + kRows, br.T);
  stage_rows<DP, kRows>(qs, q + rows_at, q_stride, valid, D, L.async);
  stage_rows<DP, kRows>(dos, dout + rows_at, q_stride, valid, D, L.async);
  stage_rows<DP, Bc>(vs, values, kv_stride, br.T, D, L.async);
  commit_stage();
  stage_rows<DP, Bc>(ks, keys, kv_stride, br.T, D, L.async);
  commit_stage();
  float lse_i[kRowsPerThread], delta_i[kRowsPerThread];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    const int64_t r = ty + kRowThreads * i;
    float part = 0.0f;
    if (r < valid)
      for (int64_t c = tx; c < D; c += kRowThreads)
        part += dout[rows_at + r * q_stride + c] * out[rows_at + r * q_stride + c];
    delta_i[i] = row_sum(part);
    lse_i[i] = r < valid ? lse[L.H * br.b + h * br.T + br.first + r] : 0.0f;
    if (tx == 0 && r < valid) delta[L.H * br.b + h * br.T + br.first + r] = delta_i[i];
  }
  RowsAcc<DP> acc = {};
  for (int64_t j0 = 0; j0 < last; j0 += Bc) {
    const bool more = j0 + Bc < last;
    float s[kRowsPerThread][J], dp[kRowsPerThread][J];
    // The values (and q, dout) land first, then the keys.
    two_score_tiles<P, DP, Bc>(dos, vs, dp, qs, ks, s, tiles.weights1);
    softmax_backward_tile<Bc>(
        s, dp, L.scale,
        [&](int i, int j) {
          const int64_t qi = br.first + ty + kRowThreads * i, kj = j0 + tx + kRowThreads * j;
          return qi < br.T && kj <= qi;
        },
        [&](int i, int) { return lse_i[i]; }, [&](int i, int) { return delta_i[i]; });
    store_weights<Bc>(dss, dp);
    __syncthreads();  // the values are used up, the weights written
    if (more) stage_rows<DP, Bc>(vs, values + (j0 + Bc) * kv_stride, kv_stride, br.T - j0 - Bc, D, L.async);
    commit_stage();
    accumulate_tile<P, DP, Bc>(dss, ks, acc);
    __syncthreads();  // the keys and weights are used up
    if (more) stage_rows<DP, Bc>(ks, keys + (j0 + Bc) * kv_stride, kv_stride, br.T - j0 - Bc, D, L.async);
    commit_stage();
  }
  write_rows<DP>(acc, [&](int) { return L.scale; }, dq + rows_at, q_stride, valid, D);
}

// Backward to k and v, one block per 64 keys of one key/value head and one part of its group's
// query heads (`parts` of them, consecutive heads each): dv_j = sum_h sum_i P_ij dout_i and dk_j =
// scale sum_h sum_i dS_ij q_i over the part's query heads h (in order) and the queries i >= j (in
// order): fixed sums, no atomics. Part 0 writes dk and dv, part p > 0 its own sums at
// dk_rest / dv_rest + (p - 1) numel. The tiles of (head, queries) come in that order; the next
// tile's q travels while dv accumulates, its dout while the next scores are.
template <ProductPrecision P, int DP>
__global__ void __launch_bounds__(kThreads, 1)
    attention_dkdv_kernel(Layout L, const float* q, const float* k, const float* v, const float* lse,
                          const float* delta, const float* dout, int parts, int64_t numel, float* dk, float* dv,
                          float* dk_rest, float* dv_rest) {
  constexpr int Bc = kBackwardTile, J = Bc / kRowThreads;
  extern __shared__ float4 smem4[];
  const BackwardTiles<DP, Bc> tiles(reinterpret_cast<float*>(smem4));
  float *ks = tiles.own0, *vs = tiles.own1, *qs = tiles.other0, *dos = tiles.other1;
  float *pts = tiles.weights0, *dsts = tiles.weights1, *lse_s = tiles.vec0, *delta_s = tiles.vec1;
  const BlockRows br = block_rows(L, L.Hkv * parts);
  const int64_t kh = br.head / parts, part = br.head % parts, D = L.D, q_stride = L.H * D, kv_stride = L.Hkv * D;
  const int64_t heads = L.H / L.Hkv / parts, h_first = kh * (L.H / L.Hkv) + part * heads, h_end = h_first + heads;
  const int64_t rows_at = (br.b + br.first) * kv_stride + kh * D, valid = br.T - br.first;
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
  // Rows [i0, i0 + Bc) of query head h (for q or dout) start at q_rows(src, h, i0).
  const auto q_rows = [&](const float* src, int64_t head, int64_t i0) {
    return src + (br.b + i0) * q_stride + head * D;
  };

  stage_rows<DP, kRows>(ks, k + rows_at, kv_stride, valid, D, L.async);
  stage_rows<DP, kRows>(vs, v + rows_at, kv_stride, valid, D, L.async);
  stage_rows<DP, Bc>(qs, q_rows(q, h_first, br.first), q_stride, valid, D, L.async);
  commit_stage();
  stage_rows<DP, Bc>(dos, q_rows(dout, h_first, br.first), q_stride, valid, D, L.async);
  commit_stage();
  RowsAcc<DP> dk_acc = {}, dv_acc = {};
  for (int h = static_cast<int>(h_first), i0 = br.first; h < h_end;) {
    // The tile after this one: the next queries of head h, else head h + 1 from the block's first.
    const bool next_head = i0 + Bc >= br.T;
    const int h_next = next_head ? h + 1 : h, i_next = next_head ? br.first : i0 + Bc;
    const bool more = h_next < h_end;
    if (threadIdx.x < Bc) {
      const bool in = i0 + threadIdx.x < br.T;
      lse_s[threadIdx.x] = in ? lse[L.H * br.b + h * br.T + i0 + threadIdx.x] : 0.0f;
      delta_s[threadIdx.x] = in ? delta[L.H * br.b + h * br.T + i0 + threadIdx.x] : 0.0f;
    }
    // Transposed, [key][query]; q (and the block's k, v) land first, then dout.
    float st[kRowsPerThread][J], dpt[kRowsPerThread][J];
    // The scores pass through the P tile, which each thread then writes at its own entries.
    two_score_tiles<P, DP, Bc>(ks, qs, st, vs, dos, dpt, pts);
    softmax_backward_tile<Bc>(
        st, dpt, L.scale,
        [&](int i, int j) {
          const int64_t kj = br.first + ty + kRowThreads * i, qi = i0 + tx + kRowThreads * j;
          return kj < br.T && qi < br.T && qi >= kj;
        },
        [&](int, int j) { return lse_s[tx + kRowThreads * j]; },
        [&](int, int j) { return delta_s[tx + kRowThreads * j]; });
    store_weights<Bc>(pts, st);
    store_weights<Bc>(dsts, dpt);
    __syncthreads();
    accumulate_tile<P, DP, Bc>(dsts, qs, dk_acc);
    __syncthreads();  // q is used up
    if (more) stage_rows<DP, Bc>(qs, q_rows(q, h_next, i_next), q_stride, br.T - i_next, D, L.async);
    commit_stage();
    accumulate_tile<P, DP, Bc>(pts, dos, dv_acc);
    __syncthreads();  // dout, the weights, lse and delta are used up
    if (more) stage_rows<DP, Bc>(dos, q_rows(dout, h_next, i_next), q_stride, br.T - i_next, D, L.async);
    commit_stage();
    h = h_next;
    i0 = i_next;
  }
  float* dk_out = part == 0 ? dk : dk_rest + (part - 1) * numel;
  float* dv_out = part == 0 ? dv : dv_rest + (part - 1) * numel;
  write_rows<DP>(dk_acc, [&](int) { return L.scale; }, dk_out + rows_at, kv_stride, valid, D);
  write_rows<DP>(dv_acc, [](int) { return 1.0f; }, dv_out + rows_at, kv_stride, valid, D);
}

template <int DP>
constexpr size_t forward_smem() {
  return tile_bytes<DP>(kRows) + 2 * tile_bytes<DP>(kForwardTile) + weight_bytes<kForwardTile>() +
         sizeof(float) * kRows;
}

// Launches kernel on grid with `smem` bytes of dynamic shared memory (over the 48 KB default).
template <typename Kernel, typename... Args>
void launch(Kernel kernel, const char* name, dim3 grid, size_t smem, Args... args) {
  S0_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  kernel<<<grid, kThreads, smem, stream()>>>(args...);
  check_launch(name);
}

// The blocks of kRows rows of every sequence as (sequence, first row) pairs, sorted by the work
// `work(first, length)` of each, heaviest first (the order changes no result: blocks are
// independent).
template <typename Work>
Tensor block_table(const Varlen& seqs, Device d, Work work) {
  std::vector<std::pair<int64_t, int64_t>> blocks;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    for (int64_t first = 0; first < seqs.length(s); first += kRows) blocks.emplace_back(s, first);
  std::stable_sort(blocks.begin(), blocks.end(), [&](const auto& x, const auto& y) {
    return work(x.second, seqs.length(x.first)) > work(y.second, seqs.length(y.first));
  });
  std::vector<int64_t> pairs;
  for (const auto& [s, first] : blocks) {
    pairs.push_back(s);
    pairs.push_back(first);
  }
  return upload_i64(pairs, d);
}

// A query block sees the keys up to its last query; a key block, the queries from its first key.
int64_t keys_seen(int64_t first, int64_t length) { return std::min(first + kRows, length); }
int64_t queries_seen(int64_t first, int64_t length) { return length - first; }

// What the forward and backward kernels share: the sequence offsets and row blocks on the GPU (kept
// alive as long as the plan) and the layout that points at them.
struct Plan {
  Tensor offsets, blocks;
  Tensor caches;   // per sequence its cache's keys' address, then per sequence its values' address
  Tensor lengths;  // per sequence the rows cached before the call, then a decode step's chunk table
  int64_t n_blocks = 0;
  Layout L;
};

Plan plan(const Tensor& q, const Tensor& k, float scale, const Varlen& seqs, const char* op) {
  if (q.dim(2) > kMaxHeadDim) fail("op ", op, " on cuda supports head dims up to ", kMaxHeadDim, ", got ", q.dim(2));
  Plan p;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) p.n_blocks += (seqs.length(s) + kRows - 1) / kRows;
  p.offsets = upload_i64(seqs.offsets, q.device());
  p.blocks = block_table(seqs, q.device(), keys_seen);
  p.L = Layout{q.dim(1),
               k.dim(1),
               q.dim(2),
               scale,
               static_cast<const int64_t*>(p.offsets.device_raw()),
               static_cast<const int64_t*>(p.blocks.device_raw()),
               nullptr,
               nullptr,
               nullptr,
               false};
  return p;
}

// One block per (row block, head).
dim3 grid(const Plan& p, int64_t heads) { return dim3(static_cast<unsigned>(p.n_blocks * heads)); }

// The forward's launch for one padded head dim and products.
template <ProductPrecision P, int DP>
void forward_launch(const Plan& p, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse) {
  launch(attention_forward_kernel<P, DP>, "attention_forward_kernel", grid(p, p.L.H), forward_smem<DP>(), p.L, f32(q),
         f32(k), f32(v), f32_mut(out), f32_mut(lse));
}

// The parts a group's query heads are cut into for the dk/dv kernel: two where they halve evenly.
// A key block's work grows with the queries after it, so the first key blocks of the longest
// sequences ran alone at the end of the grid (one block an SM); halves of them fill it evenly
// (4B training shape: 164 blocks, the longest 56 tiles against about 29 an SM). Each part writes
// its own sums, added to the first part's in order after (rows.h's add), so the bits do not
// depend on the batch.
int64_t dkdv_parts(int64_t H, int64_t Hkv) { return (H / Hkv) % 2 == 0 ? 2 : 1; }

template <ProductPrecision P, int DP>
void backward_launch(const Plan& p, const Layout& key_blocks, const Tensor& q, const Tensor& k, const Tensor& v,
                     const Tensor& out, const Tensor& lse, const Tensor& dout, Tensor& delta, Tensor& dq, Tensor& dk,
                     Tensor& dv) {
  launch(attention_dq_kernel<P, DP>, "attention_dq_kernel", grid(p, p.L.H), BackwardTiles<DP, kBackwardTile>::bytes(),
         p.L, f32(q), f32(k), f32(v), f32(out), f32(lse), f32(dout), f32_mut(dq), f32_mut(delta));
  const int64_t parts = dkdv_parts(p.L.H, p.L.Hkv), numel = dk.numel();
  Tensor rest = parts > 1 ? Tensor::empty({2, parts - 1, numel}, DType::F32, dk.device()) : Tensor();
  float* dk_rest = parts > 1 ? f32_mut(rest) : nullptr;
  float* dv_rest = parts > 1 ? dk_rest + (parts - 1) * numel : nullptr;
  launch(attention_dkdv_kernel<P, DP>, "attention_dkdv_kernel", grid(p, p.L.Hkv * parts),
         BackwardTiles<DP, kBackwardTile>::bytes(), key_blocks, f32(q), f32(k), f32(v), f32(lse), f32(delta), f32(dout),
         static_cast<int>(parts), numel, f32_mut(dk), f32_mut(dv), dk_rest, dv_rest);
  std::vector<const float*> dk_more, dv_more;
  for (int64_t r = 0; r + 1 < parts; ++r) {
    dk_more.push_back(dk_rest + r * numel);
    dv_more.push_back(dv_rest + r * numel);
  }
  add(f32_mut(dk), dk_more, numel);
  add(f32_mut(dv), dv_more, numel);
}

// f(integral_constant<ProductPrecision>, integral_constant<int, DP>) for the products and the padded head dim D takes:
// the kernels' instances (three head dims, two products).
template <typename F>
void with_instance(ProductPrecision products, int64_t D, F f) {
  auto dims = [&](auto P) {
    switch (padded_head_dim(D)) {
      case 64:
        return f(P, std::integral_constant<int, 64>{});
      case 128:
        return f(P, std::integral_constant<int, 128>{});
      default:
        return f(P, std::integral_constant<int, 256>{});
    }
  };
  using Tf32 = std::integral_constant<ProductPrecision, ProductPrecision::tf32>;
  using F32 = std::integral_constant<ProductPrecision, ProductPrecision::f32>;
  return products == ProductPrecision::tf32 ? dims(Tf32{}) : dims(F32{});
}

// x[T, heads, D]: pair (e, e + rot_dim/2) of each head rotated by positions[t] theta^(-2e/rot_dim),
// the angle's sign flipped for the adjoint. Angles in double, as on the CPU.
__global__ void rope_kernel(float* x, const int64_t* positions, int64_t T, int64_t heads, int64_t D, int64_t half,
                            double theta, double sign) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= T * heads * half) return;
  const int64_t i = e % half, th = e / half, t = th / heads;
  const double angle = static_cast<double>(positions[t]) *
                       (1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(2 * half)));
  const float c = static_cast<float>(cos(angle)), sn = static_cast<float>(sign * sin(angle));
  float* xh = x + th * D;
  const float x1 = xh[i], x2 = xh[i + half];
  xh[i] = x1 * c - x2 * sn;
  xh[i + half] = x2 * c + x1 * sn;
}

// Grid (kAppendBlocks, n_seqs): sequence s's rows of k and v [rows, Hkv * D] go to its caches after
// their first past[s] rows (float32 caches, or bf16 ones: each value rounded, store.cuh).
constexpr int kAppendBlocks = 16;
template <typename Cached>
__global__ void append_kernel(Layout L, const float* k, const float* v) {
  const int s = blockIdx.y;
  const int64_t cols = L.Hkv * L.D, b = L.offsets[s], n = (L.offsets[s + 1] - b) * cols, at = L.past[s] * cols;
  Cached* ck = reinterpret_cast<Cached*>(L.cache_k[s]) + at;
  Cached* cv = reinterpret_cast<Cached*>(L.cache_v[s]) + at;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    store(ck + e, k[b * cols + e]);
    store(cv + e, v[b * cols + e]);
  }
}

void append_to_caches(const Layout& L, int64_t n_seqs, const float* k, const float* v, bool bf16) {
  const dim3 grid(kAppendBlocks, static_cast<unsigned>(n_seqs));
  if (bf16)
    append_kernel<__nv_bfloat16><<<grid, 256, 0, stream()>>>(L, k, v);
  else
    append_kernel<float><<<grid, 256, 0, stream()>>>(L, k, v);
  check_launch("append_kernel");
}

void rope(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta, double sign) {
  const int64_t T = x.dim(0), heads = x.dim(1), D = x.dim(2), n = T * heads * (rot_dim / 2);
  if (n == 0) return;
  const Tensor pos = upload_i64(positions, x.device());
  rope_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream()>>>(
      f32_mut(x), static_cast<const int64_t*>(pos.device_raw()), T, heads, D, rot_dim / 2, theta, sign);
  check_launch("rope_kernel");
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Varlen& seqs,
                       const std::vector<KvCache*>& caches, Tensor& out, Tensor& lse, ProductPrecision products) {
  Plan p = plan(q, k, scale, seqs, "attention");
  if (p.n_blocks == 0) return;
  std::vector<const void*> starts{f32(q), f32(k), f32(v)};
  bool decode_step = !caches.empty();  // one new row per sequence
  for (int64_t s = 0; decode_step && s < seqs.n_seqs(); ++s) decode_step = seqs.length(s) == 1;
  // bf16 caches come here in decode steps alone (ops/attention.cpp runs the rest over float32 copies).
  const bool bf16_caches = !caches.empty() && caches[0]->dtype == DType::BF16;
  for (const KvCache* c : caches)
    if ((c->dtype == DType::BF16) != bf16_caches || (bf16_caches && !decode_step))
      fail("internal: bf16 key and value caches outside a decode step of bf16 caches");
  int64_t decode_chunks = 0;
  if (!caches.empty()) {
    // The caches have room for this call's rows (made by the dispatch) after `past` earlier ones;
    // they are appended here, every sequence in one kernel. Two tables: the caches' addresses, which
    // stay from step to step, and the lengths (with a decode step's chunk table), which every layer
    // of a step shares, so a decode step uploads neither again (device_args.h).
    const int64_t n = seqs.n_seqs();
    std::vector<int64_t> addresses(static_cast<size_t>(2 * n)), lengths, n_keys;
    for (int64_t s = 0; s < n; ++s) {
      const KvCache& c = *caches[static_cast<size_t>(s)];
      const void* keys = bf16_caches ? bf16(c.k) : f32(c.k);
      const void* values = bf16_caches ? bf16(c.v) : f32(c.v);
      starts.push_back(keys);
      starts.push_back(values);
      addresses[static_cast<size_t>(s)] = address_value(keys);
      addresses[static_cast<size_t>(n + s)] = address_value(values);
      lengths.push_back(c.length - seqs.length(s));
      n_keys.push_back(c.length);
    }
    if (decode_step) decode_chunks = append_decode_chunks(n_keys, lengths);
    p.caches = upload_i64(addresses, q.device());
    p.lengths = upload_i64(lengths, q.device());
    p.L.cache_k = static_cast<const int64_t*>(p.caches.device_raw());
    p.L.cache_v = p.L.cache_k + n;
    p.L.past = static_cast<const int64_t*>(p.lengths.device_raw());
    append_to_caches(p.L, seqs.n_seqs(), f32(k), f32(v), bf16_caches);
  }
  // bf16 rows are staged 16 bytes at a time too: eight values.
  p.L.async = rows_aligned(q.dim(2), starts) && (!bf16_caches || q.dim(2) % 8 == 0);
  if (decode_step) {
    const int64_t n = seqs.n_seqs();
    const DecodeArgs a{p.L.H,         p.L.Hkv,         p.L.D,     scale, p.L.cache_k, p.L.cache_v, p.L.past,
                       p.L.past + n, p.L.past + 2 * n + 1, p.L.async, bf16_caches};
    return attention_decode(a, decode_chunks, q, out, lse);
  }
  with_instance(products, q.dim(2), [&](auto P, auto DP) { forward_launch<P(), DP()>(p, q, k, v, out, lse); });
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, float scale, const Varlen& seqs, Tensor& dq, Tensor& dk, Tensor& dv,
                        ProductPrecision products) {
  Plan p = plan(q, k, scale, seqs, "attention_backward");
  if (p.n_blocks == 0) return;
  p.L.async = rows_aligned(q.dim(2), {f32(q), f32(k), f32(v), f32(dout)});
  // The dk/dv kernel walks the same row blocks as key blocks, ordered by the queries they see.
  const Tensor key_table = block_table(seqs, q.device(), queries_seen);
  Layout key_blocks = p.L;
  key_blocks.blocks = static_cast<const int64_t*>(key_table.device_raw());
  Tensor delta = Tensor::empty(lse.shape(), DType::F32, q.device());
  with_instance(products, q.dim(2), [&](auto P, auto DP) {
    backward_launch<P(), DP()>(p, key_blocks, q, k, v, out, lse, dout, delta, dq, dk, dv);
  });
}

void rope_forward(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta) {
  rope(x, positions, rot_dim, theta, 1.0);
}

void rope_backward(Tensor& dx, const std::vector<int64_t>& positions, int64_t rot_dim, double theta) {
  rope(dx, positions, rot_dim, theta, -1.0);
}

}  // namespace s0::ops::cuda
