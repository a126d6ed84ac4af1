#include "ops/cuda/conv1d.h"

#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/sequence_of.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 256;
// The conv kernels give each thread one channel and a run of kRunRows consecutive rows, carrying
// the taps' inputs (forward) or their outputs' gradients (backward) from row to row in registers:
// each input is read and each sigmoid computed once, not once per tap, and the row's sequence is
// looked up once per run. The carried values sit in arrays of kMaxConvTaps indexed by unrolled loops
// only (a run-time index would put them in local memory). A thread loads the rows of its run
// kAhead at a time before it uses any: with one row's load behind the last row's stores, each row
// waited a memory latency (the backward ran at a third of the memory bandwidth).
constexpr int kChannels = 128;
constexpr int64_t kRunRows = 32;
constexpr int kAhead = 8;

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// Tap j of row t reads input t - (K-1) + j; inputs before the sequence's first row come from its
// window (address in `wins`, 0 = zeros: those taps are skipped). y = silu(pre),
// pre = bias + the taps in order j = 0..K-1.
__global__ void conv1d_silu_forward_kernel(const float* x, int64_t ld, const float* w, const float* bias,
                                           const int64_t* offs, const int64_t* wins, int64_t n_seqs, int64_t rows,
                                           int64_t C, int K, float* y, float* pre) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t first = blockIdx.y * kRunRows, last = min(rows, first + kRunRows);
  if (c >= C) return;
  float tap[kMaxConvTaps], in[kMaxConvTaps];  // in[j]: tap j's input for the current row
#pragma unroll
  for (int j = 0; j < kMaxConvTaps; ++j) tap[j] = j < K ? w[c * K + j] : 0.0f;
  int64_t s = sequence_of(first, offs, n_seqs), begin = offs[s], end = offs[s + 1];
  const float* window = reinterpret_cast<const float*>(wins[s]);
  for (int64_t base = first; base < last; base += kAhead) {
    float ahead[kAhead];  // rows base, base + 1, ...: their own inputs
#pragma unroll
    for (int i = 0; i < kAhead; ++i) ahead[i] = base + i < last ? x[(base + i) * ld + c] : 0.0f;
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
        for (int j = 0; j < kMaxConvTaps - 1; ++j) {
          const int64_t src = t - (K - 1) + j;
          if (j < K - 1) in[j] = src >= 0 ? x[(row - t + src) * ld + c] : window ? window[(t + j) * C + c] : 0.0f;
        }
      } else {  // last row's inputs, one tap on
#pragma unroll
        for (int j = 0; j < kMaxConvTaps - 1; ++j)
          if (j < K - 1) in[j] = in[j + 1];
      }
#pragma unroll
      for (int j = 0; j < kMaxConvTaps; ++j)
        if (j == K - 1) in[j] = ahead[i];
      float acc = bias ? bias[c] : 0.0f;
#pragma unroll
      for (int j = 0; j < kMaxConvTaps; ++j)
        if (j < K && (t - (K - 1) + j >= 0 || window)) acc += tap[j] * in[j];
      pre[row * C + c] = acc;
      y[row * C + c] = acc * sigmoid(acc);
    }
  }
}

// Input row r feeds output r + (K-1-j) through tap j, within its own sequence: dx[r] = the sum over
// j = 0..K-1 of w[j] dy[out] silu'(pre[out]). Rows run downwards, so each output's factors are
// computed once and move one tap on per row.
__global__ void conv1d_silu_backward_kernel(const float* w, const float* pre, const float* dy, const int64_t* offs,
                                            int64_t n_seqs, int64_t rows, int64_t C, int K, float* dx,
                                            int64_t lddx) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t first = blockIdx.y * kRunRows, last = min(rows, first + kRunRows);
  if (c >= C) return;
  float tap[kMaxConvTaps], g[kMaxConvTaps], grad[kMaxConvTaps];  // for tap j: dy and silu'(pre) of output row + K-1-j
#pragma unroll
  for (int j = 0; j < kMaxConvTaps; ++j) tap[j] = j < K ? w[c * K + j] : 0.0f;
  auto factors = [](float p, float dy_out, float& gj, float& gradj) {
    const float sg = sigmoid(p);
    gj = dy_out;
    gradj = sg * (1.0f + p * (1.0f - sg));
  };
  auto load = [&](int64_t out, float& gj, float& gradj) { factors(pre[out * C + c], dy[out * C + c], gj, gradj); };
  int64_t s = sequence_of(last - 1, offs, n_seqs), begin = offs[s], end = offs[s + 1];
  for (int64_t top = last - 1; top >= first; top -= kAhead) {
    float pre_ahead[kAhead], dy_ahead[kAhead];  // rows top, top - 1, ...: their own output's pre and dy
#pragma unroll
    for (int i = 0; i < kAhead; ++i) {
        const bool in_run = top - i >= first;
        pre_ahead[i] = in_run ? pre[(top - i) * C + c] : 0.0f;
        dy_ahead[i] = in_run ? dy[(top - i) * C + c] : 0.0f;
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
        for (int j = 0; j < kMaxConvTaps; ++j)
          if (j < K && row + (K - 1 - j) < end) load(row + (K - 1 - j), g[j], grad[j]);
      } else {  // the next row's outputs, one tap on, and this row's own
#pragma unroll
        for (int j = 0; j < kMaxConvTaps - 1; ++j)
          if (j < K - 1) {
            g[j] = g[j + 1];
            grad[j] = grad[j + 1];
          }
#pragma unroll
        for (int j = 0; j < kMaxConvTaps; ++j)
          if (j == K - 1) factors(pre_ahead[i], dy_ahead[i], g[j], grad[j]);
      }
      float acc = 0.0f;
#pragma unroll
      for (int j = 0; j < kMaxConvTaps; ++j)
        if (j < K && row + (K - 1 - j) < end) acc += tap[j] * g[j] * grad[j];
      dx[row * lddx + c] = acc;
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

// The grid of the row-run kernels: channel blocks by runs of rows.
dim3 runs_grid(int64_t rows, int64_t C) {
  return dim3(blocks_for(C, kChannels), static_cast<unsigned>((rows + kRunRows - 1) / kRunRows));
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
  conv1d_silu_forward_kernel<<<runs_grid(rows, C), kChannels, 0, stream()>>>(
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
  Tensor whole = dx.t;
  const int64_t C = dx.count, rows = seqs.rows();
  const int K = conv_taps(w, C);
  if (rows == 0 || C == 0) return;
  const Tensor offsets = upload_i64(seqs.offsets, whole.device());
  conv1d_silu_backward_kernel<<<runs_grid(rows, C), kChannels, 0, stream()>>>(
      f32(w), f32(pre), f32(dy), static_cast<const int64_t*>(offsets.device_raw()), seqs.n_seqs(), rows, C, K,
      f32_mut(whole) + dx.begin, dx.stride());
  check_launch("conv1d_silu_backward");
}

}  // namespace s0::ops::cuda
