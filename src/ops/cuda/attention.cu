#include "ops/cuda/attention.h"

#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

constexpr int kMaxHeadDim = 256;
constexpr int kRowsPerBlock = 64;  // queries (forward, dq) or keys (dk, dv) per block: one each thread
constexpr int kTile = 16;          // rows of the other side staged in shared memory at a time

struct Layout {
  int64_t H, Hkv, D;
  float scale;
  const int64_t* offsets;
  const int64_t* blocks;  // per block: its sequence and first row (pairs)
};

__device__ float dot(const float* a, const float* b, int64_t D) {
  float acc = 0.0f;
  for (int64_t e = 0; e < D; ++e) acc += a[e] * b[e];
  return acc;
}

// Stages rows [first, first + kTile) of head `head` of a [rows, heads, D] tensor (rows past `end`
// are not read) into tile[kTile][kMaxHeadDim].
__device__ void stage(const float* src, int64_t heads, int64_t head, int64_t D, int64_t first, int64_t end,
                      float (*tile)[kMaxHeadDim]) {
  for (int64_t e = threadIdx.x; e < kTile * D; e += blockDim.x) {
    const int64_t r = e / D, c = e % D;
    if (first + r < end) tile[r][c] = src[((first + r) * heads + head) * D + c];
  }
}

// One thread per query: a running max m and sum l of exp(score - m), and the weighted sum of values.
__global__ void attention_forward_kernel(Layout L, const float* q, const float* k, const float* v, float* out,
                                         float* lse) {
  __shared__ float ks[kTile][kMaxHeadDim], vs[kTile][kMaxHeadDim];
  const int64_t s = L.blocks[2 * blockIdx.x], first = L.blocks[2 * blockIdx.x + 1], h = blockIdx.y;
  const int64_t b = L.offsets[s], T = L.offsets[s + 1] - b, i = first + threadIdx.x, kh = h / (L.H / L.Hkv);
  const bool active = i < T;
  float qr[kMaxHeadDim], acc[kMaxHeadDim];
  for (int64_t e = 0; e < L.D; ++e) {
    qr[e] = active ? q[((b + i) * L.H + h) * L.D + e] : 0.0f;
    acc[e] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int64_t last = min(first + kRowsPerBlock, T);  // keys the block's queries can see: [0, last)
  for (int64_t j0 = 0; j0 < last; j0 += kTile) {
    __syncthreads();
    stage(k + b * L.Hkv * L.D, L.Hkv, kh, L.D, j0, T, ks);
    stage(v + b * L.Hkv * L.D, L.Hkv, kh, L.D, j0, T, vs);
    __syncthreads();
    const int64_t n = active ? min(static_cast<int64_t>(kTile), i - j0 + 1) : 0;
    if (n <= 0) continue;
    float scores[kTile], mx = m;
    for (int64_t jj = 0; jj < n; ++jj) {
      scores[jj] = L.scale * dot(qr, ks[jj], L.D);
      mx = fmaxf(mx, scores[jj]);
    }
    const float rescale = expf(m - mx);  // 0 on the first tile (m = -inf)
    l *= rescale;
    for (int64_t e = 0; e < L.D; ++e) acc[e] *= rescale;
    for (int64_t jj = 0; jj < n; ++jj) {
      const float p = expf(scores[jj] - mx);
      l += p;
      for (int64_t e = 0; e < L.D; ++e) acc[e] += p * vs[jj][e];
    }
    m = mx;
  }
  if (!active) return;
  for (int64_t e = 0; e < L.D; ++e) out[((b + i) * L.H + h) * L.D + e] = acc[e] / l;
  lse[L.H * b + h * T + i] = m + logf(l);
}

// One thread per query: dq = scale sum_j dS_ij k_j with P_ij = exp(score - lse_i) and
// dS_ij = P_ij (dout_i . v_j - delta_i), delta_i = dout_i . out_i (kept for the dk/dv kernel).
__global__ void attention_dq_kernel(Layout L, const float* q, const float* k, const float* v, const float* out,
                                    const float* lse, const float* dout, float* dq, float* delta) {
  __shared__ float ks[kTile][kMaxHeadDim], vs[kTile][kMaxHeadDim];
  const int64_t s = L.blocks[2 * blockIdx.x], first = L.blocks[2 * blockIdx.x + 1], h = blockIdx.y;
  const int64_t b = L.offsets[s], T = L.offsets[s + 1] - b, i = first + threadIdx.x, kh = h / (L.H / L.Hkv);
  const bool active = i < T;
  float qr[kMaxHeadDim], dor[kMaxHeadDim], acc[kMaxHeadDim];
  float di = 0.0f;
  for (int64_t e = 0; e < L.D; ++e) {
    const int64_t at = ((b + i) * L.H + h) * L.D + e;
    qr[e] = active ? q[at] : 0.0f;
    dor[e] = active ? dout[at] : 0.0f;
    di += active ? dor[e] * out[at] : 0.0f;
    acc[e] = 0.0f;
  }
  const float lse_i = active ? lse[L.H * b + h * T + i] : 0.0f;
  const int64_t last = min(first + kRowsPerBlock, T);
  for (int64_t j0 = 0; j0 < last; j0 += kTile) {
    __syncthreads();
    stage(k + b * L.Hkv * L.D, L.Hkv, kh, L.D, j0, T, ks);
    stage(v + b * L.Hkv * L.D, L.Hkv, kh, L.D, j0, T, vs);
    __syncthreads();
    const int64_t n = active ? min(static_cast<int64_t>(kTile), i - j0 + 1) : 0;
    for (int64_t jj = 0; jj < n; ++jj) {
      const float p = expf(L.scale * dot(qr, ks[jj], L.D) - lse_i);
      const float ds = p * (dot(dor, vs[jj], L.D) - di);
      for (int64_t e = 0; e < L.D; ++e) acc[e] += ds * ks[jj][e];
    }
  }
  if (!active) return;
  for (int64_t e = 0; e < L.D; ++e) dq[((b + i) * L.H + h) * L.D + e] = L.scale * acc[e];
  delta[L.H * b + h * T + i] = di;
}

// One thread per key of a key/value head: dv_j = sum_h sum_i P_ij dout_i and dk_j = scale sum_h
// sum_i dS_ij q_i over the query heads h of the group (in order) and the queries i >= j.
__global__ void attention_dkdv_kernel(Layout L, const float* q, const float* k, const float* v, const float* lse,
                                      const float* delta, const float* dout, float* dk, float* dv) {
  __shared__ float qs[kTile][kMaxHeadDim], dos[kTile][kMaxHeadDim];
  __shared__ float lse_s[kTile], delta_s[kTile];
  const int64_t s = L.blocks[2 * blockIdx.x], first = L.blocks[2 * blockIdx.x + 1], kh = blockIdx.y;
  const int64_t b = L.offsets[s], T = L.offsets[s + 1] - b, j = first + threadIdx.x, rep = L.H / L.Hkv;
  const bool active = j < T;
  float kr[kMaxHeadDim], vr[kMaxHeadDim], dk_acc[kMaxHeadDim], dv_acc[kMaxHeadDim];
  for (int64_t e = 0; e < L.D; ++e) {
    const int64_t at = ((b + j) * L.Hkv + kh) * L.D + e;
    kr[e] = active ? k[at] : 0.0f;
    vr[e] = active ? v[at] : 0.0f;
    dk_acc[e] = dv_acc[e] = 0.0f;
  }
  for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h) {
    for (int64_t i0 = first; i0 < T; i0 += kTile) {
      __syncthreads();
      stage(q + b * L.H * L.D, L.H, h, L.D, i0, T, qs);
      stage(dout + b * L.H * L.D, L.H, h, L.D, i0, T, dos);
      if (threadIdx.x < kTile && i0 + threadIdx.x < T) {
        lse_s[threadIdx.x] = lse[L.H * b + h * T + i0 + threadIdx.x];
        delta_s[threadIdx.x] = delta[L.H * b + h * T + i0 + threadIdx.x];
      }
      __syncthreads();
      if (!active) continue;
      for (int64_t ii = 0; ii < kTile && i0 + ii < T; ++ii) {
        if (i0 + ii < j) continue;  // causal: query i sees key j only when i >= j
        const float p = expf(L.scale * dot(qs[ii], kr, L.D) - lse_s[ii]);
        const float ds = p * (dot(dos[ii], vr, L.D) - delta_s[ii]);
        for (int64_t e = 0; e < L.D; ++e) {
          dv_acc[e] += p * dos[ii][e];
          dk_acc[e] += ds * qs[ii][e];
        }
      }
    }
  }
  if (!active) return;
  for (int64_t e = 0; e < L.D; ++e) {
    const int64_t at = ((b + j) * L.Hkv + kh) * L.D + e;
    dk[at] = L.scale * dk_acc[e];
    dv[at] = dv_acc[e];
  }
}

// The blocks of kRowsPerBlock rows of every sequence, as (sequence, first row) pairs.
Tensor block_table(const Varlen& seqs, Device d, int64_t& n_blocks) {
  std::vector<int64_t> pairs;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    for (int64_t first = 0; first < seqs.length(s); first += kRowsPerBlock) {
      pairs.push_back(s);
      pairs.push_back(first);
    }
  n_blocks = static_cast<int64_t>(pairs.size()) / 2;
  return upload_i64(pairs, d);
}

// What the forward and backward kernels share: the sequence offsets and block table on the GPU
// (kept alive as long as the plan) and the layout that points at them.
struct Plan {
  Tensor offsets, blocks;
  int64_t n_blocks = 0;
  Layout L;
};

Plan plan(const Tensor& q, const Tensor& k, float scale, const Varlen& seqs, const char* op) {
  if (q.dim(2) > kMaxHeadDim)
    fail("op ", op, " on cuda supports head dims up to ", kMaxHeadDim, ", got ", q.dim(2));
  Plan p;
  p.offsets = upload_i64(seqs.offsets, q.device());
  p.blocks = block_table(seqs, q.device(), p.n_blocks);
  p.L = Layout{q.dim(1), k.dim(1), q.dim(2), scale, static_cast<const int64_t*>(p.offsets.device_raw()),
               static_cast<const int64_t*>(p.blocks.device_raw())};
  return p;
}

// x[T, heads, D]: pair (e, e + rot_dim/2) of each head rotated by positions[t] theta^(-2e/rot_dim),
// the angle's sign flipped for the adjoint. Angles in double, as on the CPU.
__global__ void rope_kernel(float* x, const int64_t* positions, int64_t T, int64_t heads, int64_t D, int64_t half,
                            double theta, double sign) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= T * heads * half) return;
  const int64_t i = e % half, th = e / half, t = th / heads;
  const double angle =
      static_cast<double>(positions[t]) * (1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(2 * half)));
  const float c = static_cast<float>(cos(angle)), sn = static_cast<float>(sign * sin(angle));
  float* xh = x + th * D;
  const float x1 = xh[i], x2 = xh[i + half];
  xh[i] = x1 * c - x2 * sn;
  xh[i + half] = x2 * c + x1 * sn;
}

void rope(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta, double sign) {
  const int64_t T = x.dim(0), heads = x.dim(1), D = x.dim(2), n = T * heads * (rot_dim / 2);
  if (n == 0) return;
  const Tensor pos = upload_i64(positions, x.device());
  rope_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream()>>>(f32_mut(x),
                                                               static_cast<const int64_t*>(pos.device_raw()), T, heads,
                                                               D, rot_dim / 2, theta, sign);
  check_launch("rope_kernel");
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Varlen& seqs, Tensor& out,
                       Tensor& lse) {
  const Plan p = plan(q, k, scale, seqs, "attention");
  if (p.n_blocks == 0) return;
  const Layout& L = p.L;
  const int64_t n_blocks = p.n_blocks;
  const dim3 forward_grid(static_cast<unsigned>(n_blocks), static_cast<unsigned>(L.H));
  attention_forward_kernel<<<forward_grid, kRowsPerBlock, 0, stream()>>>(
      L, f32(q), f32(k), f32(v), f32_mut(out), f32_mut(lse));
  check_launch("attention_forward_kernel");
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, float scale, const Varlen& seqs, Tensor& dq, Tensor& dk, Tensor& dv) {
  const Plan p = plan(q, k, scale, seqs, "attention_backward");
  if (p.n_blocks == 0) return;
  const Layout& L = p.L;
  const int64_t n_blocks = p.n_blocks;
  Tensor delta = Tensor::empty(lse.shape(), DType::F32, q.device());
  const dim3 dq_grid(static_cast<unsigned>(n_blocks), static_cast<unsigned>(L.H));
  attention_dq_kernel<<<dq_grid, kRowsPerBlock, 0, stream()>>>(
      L, f32(q), f32(k), f32(v), f32(out), f32(lse),
      f32(dout), f32_mut(dq), f32_mut(delta));
  check_launch("attention_dq_kernel");
  const dim3 dkdv_grid(static_cast<unsigned>(n_blocks), static_cast<unsigned>(L.Hkv));
  attention_dkdv_kernel<<<dkdv_grid, kRowsPerBlock, 0, stream()>>>(
      L, f32(q), f32(k), f32(v), f32(lse), f32(delta),
      f32(dout), f32_mut(dk), f32_mut(dv));
  check_launch("attention_dkdv_kernel");
}

void rope_forward(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta) {
  rope(x, positions, rot_dim, theta, 1.0);
}

void rope_backward(Tensor& dx, const std::vector<int64_t>& positions, int64_t rot_dim, double theta) {
  rope(dx, positions, rot_dim, theta, -1.0);
}

}  // namespace s0::ops::cuda
