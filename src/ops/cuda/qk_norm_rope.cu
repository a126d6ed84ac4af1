#include "ops/cuda/qk_norm_rope.h"

#include "ops/cuda/attention.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/stream.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

// One side (queries or keys): where its heads start in a projection row, how many, the norm's
// weight (null: no norm) and where rstd goes, and the output [N, heads, D].
struct Side {
  int64_t begin, heads;
  const float* norm;
  float* rstd;
  float* out;
};

// Block (t, j): head j of row t, the query heads first, then the key heads. A thread holds element
// e = threadIdx.x of the head (blockDim >= D): the norm is rmsnorm's (its sum in double, in the
// same order, r = (sum / D + eps)^(-1/2), y = x r w), then the pair (i, i + half), i < half, turns
// by positions[t] theta^(-2i / rot_dim), the angle in double as rope's; channels past rot_dim pass.
__global__ void qk_norm_rope_kernel(const float* proj, int64_t ld, const int64_t* positions, Side qs, Side ks,
                                    int64_t D, int64_t half, float eps, double theta) {
  const int64_t t = blockIdx.x / (qs.heads + ks.heads), j = blockIdx.x % (qs.heads + ks.heads);
  const bool is_q = j < qs.heads;
  const Side& side = is_q ? qs : ks;
  const int64_t head = is_q ? j : j - qs.heads, e = threadIdx.x;
  const float x = e < D ? proj[t * ld + side.begin + head * D + e] : 0.0f;
  float y = x;
  if (side.norm) {  // the same for the whole block
    double ss = 0;
    if (e < D) ss += double(x) * x;
    const float r = static_cast<float>(1.0 / sqrt(block_sum(ss) / double(D) + eps));
    if (e == 0) side.rstd[t * side.heads + head] = r;
    if (e < D) y = x * r * side.norm[e];
  }
  __shared__ float row[kMaxHeadDim];
  if (e < D) row[e] = y;
  __syncthreads();
  if (e >= D) return;
  if (e < 2 * half) {
    const int64_t i = e % half;
    const double angle = static_cast<double>(positions[t]) *
                         (1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(2 * half)));
    const float c = static_cast<float>(cos(angle)), sn = static_cast<float>(sin(angle));
    const float x1 = row[i], x2 = row[i + half];
    y = e < half ? x1 * c - x2 * sn : x2 * c + x1 * sn;
  }
  side.out[(t * side.heads + head) * D + e] = y;
}

}  // namespace

void qk_norm_rope_forward(const Tensor& proj, int64_t q_begin, int64_t k_begin, const Tensor& q_norm,
                          const Tensor& k_norm, float eps, const std::vector<int64_t>& positions, int64_t rot_dim,
                          double theta, Tensor& q, Tensor& k, Tensor& q_rstd, Tensor& k_rstd) {
  const int64_t N = q.dim(0), H = q.dim(1), Hkv = k.dim(1), D = q.dim(2);
  if (D > kMaxHeadDim) fail("op qk_norm_rope on cuda supports head dims up to ", kMaxHeadDim, ", got ", D);
  if (N == 0) return;
  const Tensor pos = upload_i64(positions, q.device());
  const Side qs{q_begin, H, f32(q_norm), q_norm.empty() ? nullptr : f32_mut(q_rstd), f32_mut(q)};
  const Side ks{k_begin, Hkv, f32(k_norm), k_norm.empty() ? nullptr : f32_mut(k_rstd), f32_mut(k)};
  qk_norm_rope_kernel<<<static_cast<unsigned>(N * (H + Hkv)), row_threads(D), 0, stream()>>>(
      f32(proj), proj.numel() / N, static_cast<const int64_t*>(pos.device_raw()), qs, ks, D, rot_dim / 2, eps,
      theta);
  check_launch("qk_norm_rope_kernel");
}

}  // namespace s0::ops::cuda
