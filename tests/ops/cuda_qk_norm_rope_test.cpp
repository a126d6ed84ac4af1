// The attention's queries and keys prepared in one GPU kernel (copied out of the projection's
// columns, RMS-normed per head, rotated) against the CPU, which runs copy_columns, rmsnorm_forward and
// rope_forward in turn: GQA heads after a gate's columns, with both norms, one or none, full and
// partial rotary, far positions (angles in double), head dims 24 to 256; a few rows (the kernel
// splits a row's heads over blocks) and many (a block takes a row's heads in rounds). Skips
// without a GPU.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/attention.h"

namespace s0::test {
namespace {

struct QkCase {
  int64_t H, Hkv, D, rot_dim;
  bool q_norm, k_norm;
};

TEST(CudaQkNormRope, MatchesCpu) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(17);
  const float eps = 1e-6f;
  for (const int64_t N : {7, 600}) {
    for (const QkCase c : {QkCase{16, 4, 256, 64, true, true}, QkCase{6, 1, 128, 128, true, false},
                           QkCase{4, 2, 24, 8, false, false}}) {
      const int64_t width = 2 * c.H * c.D + 2 * c.Hkv * c.D, k_begin = 2 * c.H * c.D;  // q | gate | k | v
      const Tensor proj = uniform({N, width}, -3, 3, rng);
      const Tensor q_norm = c.q_norm ? uniform({c.D}, 0.5f, 1.5f, rng) : Tensor();
      const Tensor k_norm = c.k_norm ? uniform({c.D}, 0.5f, 1.5f, rng) : Tensor();
      std::vector<int64_t> positions;
      for (int64_t t = 0; t < N; ++t) positions.push_back(t < 4 ? t : 100000 + 7 * t);
      auto run = [&](Device d) {
        auto to = [&](const Tensor& t) { return d.is_cpu() ? on_cpu(t) : on_gpu(t); };
        std::vector<Tensor> r{Tensor::empty({N, c.H, c.D}, DType::F32, d),
                              Tensor::empty({N, c.Hkv, c.D}, DType::F32, d),
                              c.q_norm ? Tensor::empty({N * c.H}, DType::F32, d) : Tensor(),
                              c.k_norm ? Tensor::empty({N * c.Hkv}, DType::F32, d) : Tensor()};
        ops::qk_norm_rope_forward(to(proj), 0, k_begin, to(q_norm), to(k_norm), eps, positions, c.rot_dim, 1e7, r[0],
                                  r[1], r[2], r[3]);
        return r;
      };
      const std::vector<Tensor> cpu = run(Device::cpu()), gpu = run(Device::cuda(0));
      const std::string at = std::to_string(N) + " rows, D " + std::to_string(c.D) + " ";
      expect_close(at + "q", cpu[0], gpu[0], 1e-6);
      expect_close(at + "k", cpu[1], gpu[1], 1e-6);
      if (c.q_norm) expect_close(at + "q rstd", cpu[2], gpu[2], 1e-6);
      if (c.k_norm) expect_close(at + "k rstd", cpu[3], gpu[3], 1e-6);
    }
  }
}

}  // namespace
}  // namespace s0::test
