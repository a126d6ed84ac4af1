#include "ops/cuda/qk_norm_rope.h"

#include <algorithm>

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

// Threads of a block: as many heads of a row side by side as fit, each in a segment of
// row_threads(D), so the rotation's angles are computed once for all of them.
constexpr int kBlockThreads = 512;

// Block b serves row t = b / blocks_per_row and its heads j = (b % blocks_per_row) heads_per_block
// + k, k the thread's segment of seg threads; heads count the query heads first, then the key
// heads. Thread e of a segment holds element e of its head (seg >= D): the norm is rmsnorm's (its
// sum in double, in the same order, r = (sum / D + eps)^(-1/2), y = x r w), then the pair
// (i, i + half), i < half, turns by positions[t] theta^(-2i / rot_dim), the angle in double as
// rope's, its cos and sin computed by thread i of the block for every segment; channels past
// rot_dim pass.
__global__ void __launch_bounds__(kBlockThreads)
    qk_norm_rope_kernel(const float* proj, int64_t ld, const int64_t* positions, Side qs, Side ks, int64_t D,
                        int64_t half, float eps, double theta, int seg, int64_t blocks_per_row) {
  const int64_t t = blockIdx.x / blocks_per_row, heads_per_block = blockDim.x / seg;
  const int64_t j = blockIdx.x % blocks_per_row * heads_per_block + threadIdx.x / seg, e = threadIdx.x % seg;
  const bool is_q = j < qs.heads, in = j < qs.heads + ks.heads && e < D;
  const Side& side = is_q ? qs : ks;
  const int64_t head = is_q ? j : j - qs.heads;
  const float x = in ? proj[t * ld + side.begin + head * D + e] : 0.0f;
  __shared__ float cos_i[kMaxHeadDim / 2], sin_i[kMaxHeadDim / 2];
  if (threadIdx.x < half) {
    const int64_t i = threadIdx.x;
    const double angle = static_cast<double>(positions[t]) *
                         (1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(2 * half)));
    cos_i[i] = static_cast<float>(cos(angle));
    sin_i[i] = static_cast<float>(sin(angle));
  }
  float y = x;
  if (qs.norm || ks.norm) {  // the same for the whole grid: every thread reaches the sum's barriers
    const double ss = segment_sum(in ? double(x) * x : 0.0, seg);
    if (in && side.norm) {
      const float r = static_cast<float>(1.0 / sqrt(ss / double(D) + eps));
      if (e == 0) side.rstd[t * side.heads + head] = r;
      y = x * r * side.norm[e];
    }
  }
  __shared__ float rows[kBlockThreads];
  float* row = rows + threadIdx.x / seg * seg;
  row[e] = y;
  __syncthreads();  // the rows and the angles
  if (!in) return;
  if (e < 2 * half) {
    const int64_t i = e % half;
    // The second half spelled as the fma nvcc made of x2 c + x1 sn when each block had one head
    // (it contracts the other product here), so the outputs keep their bits.
    const float c = cos_i[i], sn = sin_i[i], x1 = row[i], x2 = row[i + half];
    y = e < half ? x1 * c - x2 * sn : __fmaf_rn(x1, sn, x2 * c);
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
  const int seg = row_threads(D);
  const int64_t heads_per_block = std::min<int64_t>(kBlockThreads / seg, H + Hkv);
  const int64_t blocks_per_row = (H + Hkv + heads_per_block - 1) / heads_per_block;
  qk_norm_rope_kernel<<<static_cast<unsigned>(N * blocks_per_row), static_cast<unsigned>(heads_per_block * seg), 0,
                        stream()>>>(f32(proj), proj.numel() / N, static_cast<const int64_t*>(pos.device_raw()), qs,
                                    ks, D, rot_dim / 2, eps, theta, seg, blocks_per_row);
  check_launch("qk_norm_rope_kernel");
}

}  // namespace s0::ops::cuda
