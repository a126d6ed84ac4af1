#include "ops/cuda/conv1d.h"

#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/sequence_of.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 256;

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

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

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

}  // namespace

void conv1d_silu_forward(const Columns& x, const Tensor& w, const Tensor& bias, const Varlen& seqs,
                         const std::vector<SequenceStart>& starts, Tensor& y, Tensor& pre) {
  const Device d = x.t.device();
  const int64_t C = x.count, K = w.numel() / C, ld = x.stride(), rows = seqs.rows();
  // One upload: [offsets (n_seqs + 1) | window addresses (n_seqs)].
  std::vector<int64_t> table = seqs.offsets;
  bool any_window = false;
  for (const SequenceStart& start : starts) {
    if (start.window && start.window->empty()) *start.window = Tensor::zeros({K - 1, C}, DType::F32, d);
    table.push_back(address_value(start.window ? f32(*start.window) : nullptr));
    any_window = any_window || start.window;
  }
  const Tensor tables = upload_i64(table, d);
  const auto* offs = static_cast<const int64_t*>(tables.device_raw());
  const int64_t* wins = offs + seqs.offsets.size();
  const float* xp = f32(x.t) + x.begin;
  // y = silu(pre), pre = bias + sum_j w[c, j] x[t - (K-1) + j]; inputs before the sequence's first
  // row come from its window (address in `wins`, 0 = zeros).
  const float *wp = f32(w), *bp = f32(bias);
  float *yp = f32_mut(y), *prep = f32_mut(pre);
  const int64_t n_seqs = seqs.n_seqs();
  for_each_cell(
      rows, C,
      [=] __device__(int64_t row, int64_t c) {
        const int64_t s = sequence_of(row, offs, n_seqs), t = row - offs[s];
        const float* window = reinterpret_cast<const float*>(wins[s]);
        float acc = bp ? bp[c] : 0.0f;
        for (int64_t j = 0; j < K; ++j) {
          const int64_t src = t - (K - 1) + j;
          float xv;
          if (src >= 0) xv = xp[(row - t + src) * ld + c];
          else if (window) xv = window[(K - 1 + src) * C + c];
          else continue;
          acc += wp[c * K + j] * xv;
        }
        prep[row * C + c] = acc;
        yp[row * C + c] = acc * sigmoid(acc);
      },
      "conv1d_silu_forward");
  if (any_window && K > 1) {
    const dim3 grid(blocks_for(C), static_cast<unsigned>(seqs.n_seqs()));
    conv1d_advance_windows_kernel<<<grid, kThreads, 0, stream()>>>(xp, ld, offs, wins, C, K);
    check_launch("conv1d_advance_windows_kernel");
  }
}

void conv1d_silu_backward(const Tensor& w, const Tensor& pre, const Tensor& dy, const Varlen& seqs,
                          const Columns& dx) {
  Tensor whole = dx.t;
  const int64_t C = dx.count, K = w.numel() / C, rows = seqs.rows();
  if (rows == 0) return;
  const Tensor offsets = upload_i64(seqs.offsets, whole.device());
  const auto* offs = static_cast<const int64_t*>(offsets.device_raw());
  const float *wp = f32(w), *prep = f32(pre), *dyp = f32(dy);
  float* dxp = f32_mut(whole) + dx.begin;
  const int64_t n_seqs = seqs.n_seqs(), lddx = dx.stride();
  // Input t feeds output t + (K-1-j) through tap j, within its own sequence.
  for_each_cell(
      rows, C,
      [=] __device__(int64_t row, int64_t c) {
        const int64_t end = offs[sequence_of(row, offs, n_seqs) + 1];
        float acc = 0.0f;
        for (int64_t j = 0; j < K; ++j) {
          const int64_t out = row + (K - 1 - j);
          if (out >= end) continue;
          const float p = prep[out * C + c], sg = sigmoid(p);
          acc += wp[c * K + j] * dyp[out * C + c] * (sg * (1.0f + p * (1.0f - sg)));
        }
        dxp[row * lddx + c] = acc;
      },
      "conv1d_silu_backward");
}

}  // namespace s0::ops::cuda
