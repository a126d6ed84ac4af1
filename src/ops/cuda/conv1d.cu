#include "ops/cuda/conv1d.h"

#include <type_traits>

#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/sequence_of.cuh"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 256;
// The conv kernels give each thread V adjacent channels and a run of kRunRows consecutive rows,
// carrying the taps' inputs (forward) or their outputs' gradients (backward) from row to row in
// registers: each input is read and each sigmoid computed once, not once per tap, and the row's
// sequence is looked up once per run. The carried values sit in arrays of KT taps (the instance's
// most) indexed by unrolled loops only (a run-time index would put them in local memory). A thread
// loads the rows of its run ahead_rows(V) at a time before it uses any: with one row's load behind
// the last row's stores, each row waited a memory latency (the backward ran at a third of the
// memory bandwidth).
// V = 4 (one 16-byte load or store per row and operand) where every row start is 16-byte aligned:
// one channel a thread spent its issue slots on index arithmetic (ncu at the 4B training shape:
// SM throughput 71%, DRAM 34%, 1.64 TB/s, 78 registers). V = 1 otherwise. Two instances per
// kernel: <4, 4> (every supported model: 4 taps) and <1, kMaxConvTaps> for everything else.
constexpr int kChannels = 128;
constexpr int64_t kRunRows = 32;

__host__ __device__ constexpr int ahead_rows(int V) { return V == 4 ? 4 : 8; }

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// V adjacent floats of a row, loaded or stored together.
template <int V>
struct Cells {
  float v[V];
};
template <int V>
__device__ inline Cells<V> load_cells(const float* p) {
  Cells<V> c;
  if constexpr (V == 4) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    c.v[0] = q.x, c.v[1] = q.y, c.v[2] = q.z, c.v[3] = q.w;
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) c.v[k] = p[k];
  }
  return c;
}
// Into float32 or bf16 (store.cuh): V = 4 as one store.
template <int V, typename T>
__device__ inline void store_cells(T* p, const Cells<V>& c) {
  if constexpr (V == 4) {
    store4(p, make_float4(c.v[0], c.v[1], c.v[2], c.v[3]));
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) store(p + k, c.v[k]);
  }
}
template <int V>
__device__ inline Cells<V> zero_cells() {
  Cells<V> c;
#pragma unroll
  for (int k = 0; k < V; ++k) c.v[k] = 0.0f;
  return c;
}

// SiLU's derivative at each of p's cells.
template <int V>
__device__ inline Cells<V> silu_slopes(const Cells<V>& p) {
  Cells<V> d;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const float sg = sigmoid(p.v[k]);
    d.v[k] = sg * (1.0f + p.v[k] * (1.0f - sg));
  }
  return d;
}

// tap[j] of the thread's V channels from w[C, K] (zero past K).
template <int V, int KT>
__device__ inline void load_taps(const float* w, int64_t c, int K, Cells<V> (&tap)[KT]) {
#pragma unroll
  for (int j = 0; j < KT; ++j)
#pragma unroll
    for (int k = 0; k < V; ++k) tap[j].v[k] = j < K ? w[(c + k) * K + j] : 0.0f;
}

// Tap j of row t reads input t - (K-1) + j; inputs before the sequence's first row come from its
// window (address in `wins`, 0 = zeros: those taps are skipped). y = silu(pre),
// pre = bias + the taps in order j = 0..K-1.
template <int V, int KT>
__global__ void conv1d_silu_forward_kernel(const float* x, int64_t ld, const float* w, const float* bias,
                                           const int64_t* offs, const int64_t* wins, int64_t n_seqs, int64_t rows,
                                           int64_t C, int K, float* y, float* pre) {
  constexpr int kAhead = ahead_rows(V);
  const int64_t c = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  const int64_t first = blockIdx.y * kRunRows, last = min(rows, first + kRunRows);
  if (c >= C) return;
  Cells<V> tap[KT], in[KT];  // in[j]: tap j's input for the current row
  load_taps(w, c, K, tap);
  Cells<V> b = zero_cells<V>();
  if (bias) b = load_cells<V>(bias + c);
  int64_t s = sequence_of(first, offs, n_seqs), begin = offs[s], end = offs[s + 1];
  const float* window = reinterpret_cast<const float*>(wins[s]);
  for (int64_t base = first; base < last; base += kAhead) {
    Cells<V> ahead[kAhead];  // rows base, base + 1, ...: their own inputs
#pragma unroll
    for (int i = 0; i < kAhead; ++i)
      ahead[i] = base + i < last ? load_cells<V>(x + (base + i) * ld + c) : zero_cells<V>();
#pragma unroll
    for (int i = 0; i < kAhead; ++i) {
      const int64_t row = base + i;
      if (row >= last) break;
      while (row == end) {  // the next sequence (past any empty ones)
        ++s;
        begin = end;
        end = offs[s + 1];
        window = reinterpret_cast<const float*>(wins[s]);
      }
      const int64_t t = row - begin;
      if (row == first || t == 0) {  // the earlier inputs, from the rows or the window
#pragma unroll
        for (int j = 0; j < KT - 1; ++j) {
          const int64_t src = t - (K - 1) + j;
          if (j < K - 1)
            in[j] = src >= 0  ? load_cells<V>(x + (row - t + src) * ld + c)
                    : window ? load_cells<V>(window + (t + j) * C + c)
                             : zero_cells<V>();
        }
      } else {  // last row's inputs, one tap on
#pragma unroll
        for (int j = 0; j < KT - 1; ++j)
          if (j < K - 1) in[j] = in[j + 1];
      }
#pragma unroll
      for (int j = 0; j < KT; ++j)
        if (j == K - 1) in[j] = ahead[i];
      Cells<V> acc = b, out;
#pragma unroll
      for (int j = 0; j < KT; ++j)
        if (j < K && (t - (K - 1) + j >= 0 || window))
#pragma unroll
          for (int k = 0; k < V; ++k) acc.v[k] += tap[j].v[k] * in[j].v[k];
#pragma unroll
      for (int k = 0; k < V; ++k) out.v[k] = acc.v[k] * sigmoid(acc.v[k]);
      store_cells(pre + row * C + c, acc);
      store_cells(y + row * C + c, out);
    }
  }
}

// Input row r feeds output r + d through tap K-1-d, within its own sequence: dx[r] = the sum over
// taps j = 0..K-1 (d = K-1-j) of w[j] dy[r + d] silu'(pre[r + d]). Rows run downwards, so each
// output's factors are computed once and move one distance on per row. The carried arrays are
// indexed by the distance d, so the newest output (d = 0) has a fixed place: indexed by its tap
// j = K-1, a run-time index, they were kept in local memory.
template <int V, int KT, typename T>
__global__ void conv1d_silu_backward_kernel(const float* w, const float* pre, const float* dy, const int64_t* offs,
                                            int64_t n_seqs, int64_t rows, int64_t C, int K, T* dx, int64_t lddx) {
  constexpr int kAhead = ahead_rows(V);
  const int64_t c = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  const int64_t first = blockIdx.y * kRunRows, last = min(rows, first + kRunRows);
  if (c >= C) return;
  // For distance d: tap K-1-d, and dy and silu'(pre) of output row + d.
  Cells<V> tap[KT], g[KT], slope[KT];
#pragma unroll
  for (int d = 0; d < KT; ++d)
#pragma unroll
    for (int k = 0; k < V; ++k) tap[d].v[k] = d < K ? w[(c + k) * K + (K - 1 - d)] : 0.0f;
  int64_t s = sequence_of(last - 1, offs, n_seqs), begin = offs[s], end = offs[s + 1];
  for (int64_t top = last - 1; top >= first; top -= kAhead) {
    Cells<V> pre_ahead[kAhead], dy_ahead[kAhead];  // rows top, top - 1, ...: their own output's pre and dy
#pragma unroll
    for (int i = 0; i < kAhead; ++i) {
      const bool in_run = top - i >= first;
      pre_ahead[i] = in_run ? load_cells<V>(pre + (top - i) * C + c) : zero_cells<V>();
      dy_ahead[i] = in_run ? load_cells<V>(dy + (top - i) * C + c) : zero_cells<V>();
    }
#pragma unroll
    for (int i = 0; i < kAhead; ++i) {
      const int64_t row = top - i;
      if (row < first) break;
      while (row < begin) {  // the previous sequence (past any empty ones)
        --s;
        end = begin;
        begin = offs[s];
      }
      if (row == last - 1 || row == end - 1) {  // every tap's output, up to the sequence's end
#pragma unroll
        for (int d = 0; d < KT; ++d)
          if (d < K && row + d < end) {
            g[d] = load_cells<V>(dy + (row + d) * C + c);
            slope[d] = silu_slopes(load_cells<V>(pre + (row + d) * C + c));
          }
      } else {  // the next row's outputs, one distance on, and this row's own
#pragma unroll
        for (int d = KT - 1; d > 0; --d)
          if (d < K) {
            g[d] = g[d - 1];
            slope[d] = slope[d - 1];
          }
        g[0] = dy_ahead[i];
        slope[0] = silu_slopes(pre_ahead[i]);
      }
      Cells<V> acc = zero_cells<V>();
#pragma unroll
      for (int d = KT - 1; d >= 0; --d)  // taps in ascending order, as the CPU sums them
        if (d < K && row + d < end)
#pragma unroll
          for (int k = 0; k < V; ++k) acc.v[k] += tap[d].v[k] * g[d].v[k] * slope[d].v[k];
      store_cells(dx + row * lddx + c, acc);
    }
  }
}

// Each sequence's window [K-1, C] becomes the last K-1 inputs of (window, its rows). Row r reads
// old row r + T or an input, never a row already rewritten, so one thread per column moves it in
// place, rows in ascending order.
__global__ void conv1d_advance_windows_kernel(const float* x, int64_t ldx, const int64_t* offsets,
                                              const int64_t* windows, int64_t C, int64_t K) {
  const int64_t s = blockIdx.y, c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  float* window = reinterpret_cast<float*>(windows[s]);
  if (!window || c >= C) return;
  const int64_t b = offsets[s], T = offsets[s + 1] - b;
  for (int64_t r = 0; r < K - 1; ++r) {
    const int64_t src = T + r - (K - 1);
    window[r * C + c] = src >= 0 ? x[(b + src) * ldx + c] : window[(K - 1 + src) * C + c];
  }
}

unsigned blocks_for(int64_t n, int per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

// The grid of the row-run kernels: blocks of kChannels threads of V channels each, by runs of rows.
dim3 runs_grid(int64_t rows, int64_t C, int V) {
  return dim3(blocks_for(C, kChannels * V), static_cast<unsigned>((rows + kRunRows - 1) / kRunRows));
}

// Whether the row-run kernels may take four channels a thread: every row start of every operand
// 16-byte aligned (rows C and the strides apart) and the taps at most four.
bool four_channels(int64_t C, int K, std::initializer_list<const void*> pointers,
                   std::initializer_list<int64_t> strides) {
  return K <= 4 && C % 4 == 0 && quads_fit(pointers, strides);
}

}  // namespace

int conv_taps(const Tensor& w, int64_t C) {
  const int64_t K = w.numel() / C;
  if (K < 1 || K > kMaxConvTaps) fail("conv1d_silu on the GPU takes 1 to ", kMaxConvTaps, " taps, not ", K);
  return static_cast<int>(K);
}

void conv1d_silu_forward(const Columns& x, const Tensor& w, const Tensor& bias, const Varlen& seqs,
                         const std::vector<SequenceStart>& starts, Tensor& y, Tensor& pre) {
  const Device d = x.t.device();
  const int64_t C = x.count, ld = x.stride(), rows = seqs.rows();
  const int K = conv_taps(w, C);
  // One upload: [offsets (n_seqs + 1) | window addresses (n_seqs)].
  std::vector<int64_t> table = seqs.offsets;
  bool any_window = false;
  for (const SequenceStart& start : starts) {
    if (start.window && start.window->empty()) *start.window = Tensor::zeros({K - 1, C}, DType::F32, d);
    table.push_back(address_value(start.window ? f32(*start.window) : nullptr));
    any_window = any_window || start.window;
  }
  if (rows == 0 || C == 0) return;
  const Tensor tables = upload_i64(table, d);
  const auto* offs = static_cast<const int64_t*>(tables.device_raw());
  const int64_t* wins = offs + seqs.offsets.size();
  const float* xp = f32(x.t) + x.begin;
  bool windows_aligned = true;  // each window's rows [K-1, C]: its start, and C below
  for (size_t s = seqs.offsets.size(); s < table.size(); ++s) windows_aligned = windows_aligned && table[s] % 16 == 0;
  if (windows_aligned && four_channels(C, K, {xp, f32(bias), f32(y), f32(pre)}, {ld}))
    conv1d_silu_forward_kernel<4, 4><<<runs_grid(rows, C, 4), kChannels, 0, stream()>>>(
        xp, ld, f32(w), f32(bias), offs, wins, seqs.n_seqs(), rows, C, K, f32_mut(y), f32_mut(pre));
  else
    conv1d_silu_forward_kernel<1, kMaxConvTaps><<<runs_grid(rows, C, 1), kChannels, 0, stream()>>>(
        xp, ld, f32(w), f32(bias), offs, wins, seqs.n_seqs(), rows, C, K, f32_mut(y), f32_mut(pre));
  check_launch("conv1d_silu_forward");
  if (any_window && K > 1) {
    const dim3 grid(blocks_for(C, kThreads), static_cast<unsigned>(seqs.n_seqs()));
    conv1d_advance_windows_kernel<<<grid, kThreads, 0, stream()>>>(xp, ld, offs, wins, C, K);
    check_launch("conv1d_advance_windows_kernel");
  }
}

void conv1d_silu_backward(const Tensor& w, const Tensor& pre, const Tensor& dy, const Varlen& seqs,
                          const Columns& dx) {
  const int64_t C = dx.count, rows = seqs.rows();
  const int K = conv_taps(w, C);
  if (rows == 0 || C == 0) return;
  const Tensor offsets = upload_i64(seqs.offsets, dx.t.device());
  const auto* offs = static_cast<const int64_t*>(offsets.device_raw());
  with_output(output(dx), [&](auto* dxp) {
    using T = std::remove_pointer_t<decltype(dxp)>;
    if (four_channels(C, K, {f32(pre), f32(dy), dxp}, {dx.stride()}))
      conv1d_silu_backward_kernel<4, 4, T><<<runs_grid(rows, C, 4), kChannels, 0, stream()>>>(
          f32(w), f32(pre), f32(dy), offs, seqs.n_seqs(), rows, C, K, dxp, dx.stride());
    else
      conv1d_silu_backward_kernel<1, kMaxConvTaps, T><<<runs_grid(rows, C, 1), kChannels, 0, stream()>>>(
          f32(w), f32(pre), f32(dy), offs, seqs.n_seqs(), rows, C, K, dxp, dx.stride());
  });
  check_launch("conv1d_silu_backward");
}

}  // namespace s0::ops::cuda
