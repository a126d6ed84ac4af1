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
// row_threads(D).
constexpr int kBlockThreads = 512;

// Blocks t splits .. t splits + splits - 1 serve row t: block s's segments of seg threads take the
// row's heads j = (r splits + s) per_block + k, r = 0, 1, ... (k the segment; heads count the query
// heads first, then the key heads), so the rotation's angles are computed once a block, by thread
// i, and a block has several rounds of heads: a block per pair of heads spent the kernel in
// starting blocks (0.33 ms at 3,072 rows of Qwen3.5-4B's 20 heads of 256 on an H200). Few rows (a
// decode step) split a row's heads over blocks, so that they still fill the GPU. Thread e of a
// segment holds element e of its head (seg >= D): the norm is rmsnorm's (its sum in double, in the
// same order, r = (sum / D + eps)^(-1/2), y = x r w), then the pair (i, i + half), i < half, turns
// by positions[t] theta^(-2i / rot_dim), the angle in double as rope's; channels past rot_dim pass.
// The next head's input is loaded before this one's sum, so its latency overlaps the sum's.
__global__ void __launch_bounds__(kBlockThreads)
    qk_norm_rope_kernel(const float* proj, int64_t ld, const int64_t* positions, Side qs, Side ks, int64_t D,
                        int64_t half, float eps, double theta, int seg, int64_t splits) {
  const int64_t t = blockIdx.x / splits, per_block = blockDim.x / seg, heads = qs.heads + ks.heads;
  const int64_t e = threadIdx.x % seg, stride = per_block * splits;
  __shared__ float cos_i[kMaxHeadDim / 2], sin_i[kMaxHeadDim / 2];
  if (threadIdx.x < half) {
    const int64_t i = threadIdx.x;
    const double angle = static_cast<double>(positions[t]) *
                         (1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(2 * half)));
    cos_i[i] = static_cast<float>(cos(angle));
    sin_i[i] = static_cast<float>(sin(angle));
  }
  __shared__ float rows[kBlockThreads];
  float* row = rows + threadIdx.x / seg * seg;
  // The input of head j (0 past the row's heads and head dim).
  auto input = [&](int64_t j) {
    if (j >= heads || e >= D) return 0.0f;
    const bool is_q = j < qs.heads;
    return proj[t * ld + (is_q ? qs.begin + j * D : ks.begin + (j - qs.heads) * D) + e];
  };
  const int64_t first = blockIdx.x % splits * per_block + threadIdx.x / seg;
  float next = input(first);
  // Every thread of the block runs as many rounds (the sum's and the rows' barriers), its head in
  // range or not.
  for (int64_t r = 0; r * stride < heads; ++r) {
    const int64_t j = first + r * stride;
    const float x = next;
    next = input(j + stride);
    const bool is_q = j < qs.heads, in = j < heads && e < D;
    const Side& side = is_q ? qs : ks;
    const int64_t head = is_q ? j : j - qs.heads;
    float y = x;
    if (qs.norm || ks.norm) {  // the same for the whole grid: every thread reaches the sum's barriers
      const double ss = segment_sum(in ? double(x) * x : 0.0, seg);
      if (in && side.norm) {
        const float r = static_cast<float>(1.0 / sqrt(ss / double(D) + eps));
        if (e == 0) side.rstd[t * side.heads + head] = r;
        y = x * r * side.norm[e];
      }
    }
    row[e] = y;
    __syncthreads();  // the rows (and, the first round, the angles)
    if (in) {
      if (e < 2 * half) {
        const int64_t i = e % half;
        // The second half spelled as the fma nvcc made of x2 c + x1 sn when each block had one head
        // (it contracts the other product here), so the outputs keep their bits.
        const float c = cos_i[i], sn = sin_i[i], x1 = row[i], x2 = row[i + half];
        y = e < half ? x1 * c - x2 * sn : __fmaf_rn(x1, sn, x2 * c);
      }
      side.out[(t * side.heads + head) * D + e] = y;
    }
    __syncthreads();  // the rows are read before the next round writes them
  }
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
  // A row's heads split over as many blocks as keep kBlocksWanted in flight, at most a round each.
  constexpr int64_t kBlocksWanted = 264;
  const int64_t rounds = (H + Hkv + heads_per_block - 1) / heads_per_block;
  const int64_t splits = std::clamp<int64_t>((kBlocksWanted + N - 1) / N, 1, rounds);
  qk_norm_rope_kernel<<<static_cast<unsigned>(N * splits), static_cast<unsigned>(heads_per_block * seg), 0,
                        stream()>>>(f32(proj), proj.numel() / N, static_cast<const int64_t*>(pos.device_raw()), qs,
                                    ks, D, rot_dim / 2, eps, theta, seg, splits);
  check_launch("qk_norm_rope_kernel");
}

}  // namespace s0::ops::cuda
