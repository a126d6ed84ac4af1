#include "ops/cuda/gated_delta_decode.h"

#include "core/error.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/conv1d.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/pointwise.cuh"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

// One launch for the whole batch: block (s, unit) serves sequence s's row, and a unit is one key
// head of q or of k (the conv of its dk channels, their L2 norm, the expansion to the value heads),
// a run of kThreads value channels (the conv alone), or the gates. Every conv channel belongs to one
// unit, so each reads its window and moves it on by itself. The arithmetic is the unfused ops':
// the conv's taps added in order from zero (conv1d.cu), the sum of squares in double over a thread's
// channels j = thread, thread + kThreads, then block_sum's tree (norm.cu's l2norm with a row of up
// to kThreads), the normalised value rounded before the scale (expand_heads).

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 128;
constexpr int kKeysPerThread = 2;  // key heads up to kThreads * kKeysPerThread wide
constexpr int kMaxDk = kThreads * kKeysPerThread;

struct DecodeArgs {
  const float *x, *b, *a;  // sequence s's row: qkv at x + s * ldx, the gates' raw b and a at + s * ld
  int64_t ldx, ld;
  const float* conv_w;  // [C, K]
  int K;
  const int64_t* windows;  // per sequence its window's address [K-1, C], 0 = zeros and none kept
  const float *neg_A, *dt_bias;
  int nk, nv, dk, dv;
  float eps, q_scale;
  float *q, *k, *v, *g, *beta;
};

// silu of channel c's causal conv for this row: the window's K-1 inputs, then the row's own; the
// window then moves one row on (this thread alone touches channel c of it).
__device__ inline float conv_silu_step(const DecodeArgs& p, const float* row, float* window, int64_t C, int64_t c) {
  const int K = p.K;
  float past[kMaxConvTaps - 1];
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j) past[j] = window && j < K - 1 ? window[j * C + c] : 0.0f;
  const float now = row[c];
  const float* w = p.conv_w + c * K;
  float acc = 0.0f;
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j)
    if (window && j < K - 1) acc += w[j] * past[j];
  acc += w[K - 1] * now;
  if (window)
#pragma unroll
    for (int r = 0; r < kMaxConvTaps - 1; ++r)
      if (r < K - 1) window[r * C + c] = r + 1 < K - 1 ? past[r + 1] : now;
  return silu(acc);
}

// Grid: (sequences, 2 nk key units + the value units + 1 gate unit); kThreads each.
__global__ void gated_delta_decode_kernel(DecodeArgs p) {
  const int64_t s = blockIdx.x;
  const int unit = blockIdx.y, tid = threadIdx.x;
  const int nk = p.nk, nv = p.nv, dk = p.dk, dv = p.dv;
  const int64_t C = 2 * static_cast<int64_t>(nk) * dk + static_cast<int64_t>(nv) * dv;
  const float* row = p.x + s * p.ldx;
  float* window = reinterpret_cast<float*>(p.windows[s]);
  const int value_units = (nv * dv + kThreads - 1) / kThreads;
  if (unit < 2 * nk) {  // a key head of q (units 0..nk-1) or of k
    const bool is_q = unit < nk;
    const int kh = unit % nk;
    float val[kKeysPerThread];
    double ss = 0;
#pragma unroll
    for (int i = 0; i < kKeysPerThread; ++i) {
      const int j = tid + i * kThreads;
      val[i] = j < dk ? conv_silu_step(p, row, window, C, static_cast<int64_t>(unit) * dk + j) : 0.0f;
      if (j < dk) ss += static_cast<double>(val[i]) * val[i];
    }
    const float r = static_cast<float>(1.0 / sqrt(block_sum(ss) + p.eps));
    const float scale = is_q ? p.q_scale : 1.0f;
    const int rep = nv / nk;
    float* dst = (is_q ? p.q : p.k) + (s * nv + static_cast<int64_t>(kh) * rep) * dk;
#pragma unroll
    for (int i = 0; i < kKeysPerThread; ++i) {
      const int j = tid + i * kThreads;
      if (j >= dk) continue;
      const float normed = val[i] * r;
      for (int h = 0; h < rep; ++h) dst[h * dk + j] = normed * scale;
    }
  } else if (unit < 2 * nk + value_units) {  // value channels
    const int64_t j = static_cast<int64_t>(unit - 2 * nk) * kThreads + tid;
    if (j < static_cast<int64_t>(nv) * dv) p.v[s * nv * dv + j] = conv_silu_step(p, row, window, C, C - nv * dv + j);
  } else {  // the gates (ops/gates.h)
    for (int h = tid; h < nv; h += kThreads) {
      p.beta[s * nv + h] = sigmoid(p.b[s * p.ld + h]);
      p.g[s * nv + h] = p.neg_A[h] * softplus(p.a[s * p.ld + h] + p.dt_bias[h]);
    }
  }
}

}  // namespace

void gated_delta_decode_inputs(const Columns& qkv, const Columns& b, const Columns& a, const Tensor& conv_w,
                               const Tensor& neg_A, const Tensor& dt_bias, const GatedDeltaHeads& heads, float eps,
                               float q_scale, const std::vector<SequenceStart>& starts, GatedDeltaStepInputs& out) {
  const Device d = qkv.t.device();
  const int64_t N = qkv.rows(), C = qkv.count;
  const int K = conv_taps(conv_w, C);
  if (heads.dk > kMaxDk)
    fail("op gated_delta_decode on cuda supports key heads up to ", kMaxDk, " wide, got ", heads.dk);
  if (heads.nk <= 0 || heads.nv % heads.nk != 0)
    fail("op gated_delta_decode: ", heads.nv, " value heads do not share ", heads.nk, " key heads evenly");
  std::vector<int64_t> windows;
  for (const SequenceStart& start : starts) {
    if (start.window && start.window->empty()) *start.window = Tensor::zeros({K - 1, C}, DType::F32, d);
    windows.push_back(address_value(start.window ? f32(*start.window) : nullptr));
  }
  if (N == 0) return;
  const Tensor table = upload_i64(windows, d);
  const DecodeArgs p{f32(qkv),
                     f32(b),
                     f32(a),
                     qkv.stride(),
                     a.stride(),
                     f32(conv_w),
                     K,
                     static_cast<const int64_t*>(table.device_raw()),
                     f32(neg_A),
                     f32(dt_bias),
                     static_cast<int>(heads.nk),
                     static_cast<int>(heads.nv),
                     static_cast<int>(heads.dk),
                     static_cast<int>(heads.dv),
                     eps,
                     q_scale,
                     f32_mut(out.q),
                     f32_mut(out.k),
                     f32_mut(out.v),
                     f32_mut(out.g),
                     f32_mut(out.beta)};
  const int64_t units = 2 * heads.nk + (heads.nv * heads.dv + kThreads - 1) / kThreads + 1;
  gated_delta_decode_kernel<<<dim3(static_cast<unsigned>(N), static_cast<unsigned>(units)), kThreads, 0, stream()>>>(p);
  check_launch("gated_delta_decode_kernel");
}

}  // namespace s0::ops::cuda
