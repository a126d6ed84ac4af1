// CUDA causal GQA attention on the Qwen3.5-4B attention shape (16 query / 4 KV heads of dim 256)
// over a training step's packed batch: 48 sequences of 250-450 tokens (uniform, fixed seed), about
// 17,000 tokens. Forward and backward time (median of `reps`, each synchronised) and TFLOP/s,
// counting the causal pairs' arithmetic once: 4 D flops per pair and head forward (q.k and p v),
// 10 D backward (q.k, dout.v, dv, dk, dq), as the usual 2.5x rule does; the kernels recompute the
// backward's scores in both of its passes, so they execute 14 D. Then a decode step of generation at
// batch 48 and 256: one new token per sequence over caches of 250-450 keys.
//   build/bench/cuda_attention_bench [reps=10]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/digest.h"
#include "gpu_timing.h"
#include "ops/attention.h"
#include "ops/device_runtime.h"

using namespace s0;
using bench::median_seconds;
using bench::random_on_gpu;

namespace {

// One decode step of `batch` sequences with lengths uniform in [shortest, longest] cached: time
// (median of `reps`, the caches cut back to their lengths before each step), the rate at which it
// reads the caches, and a digest of out and lse, which tells two builds' arithmetic apart.
void decode_step(int64_t batch, int64_t H, int64_t Hkv, int64_t D, int64_t shortest, int64_t longest, int reps) {
  std::mt19937 gen(9);
  std::uniform_int_distribution<int64_t> length(shortest, longest);
  std::vector<ops::KvCache> caches;
  std::vector<int64_t> lengths;
  double bytes = 0;
  for (int64_t s = 0; s < batch; ++s) {
    const int64_t n = length(gen);
    lengths.push_back(n);
    caches.push_back({random_on_gpu({n + 1, Hkv * D}, 100 + 2 * static_cast<uint32_t>(s), 1.0f),
                      random_on_gpu({n + 1, Hkv * D}, 101 + 2 * static_cast<uint32_t>(s), 1.0f), n});
    bytes += 2.0 * double(n + 1) * double(Hkv * D) * sizeof(float);
  }
  std::vector<ops::KvCache*> cache_ptrs;
  for (auto& c : caches) cache_ptrs.push_back(&c);
  ops::Varlen one{{0}};
  for (int64_t s = 0; s < batch; ++s) one.offsets.push_back(s + 1);
  const Device gpu = Device::cuda(0);
  const Tensor q1 = random_on_gpu({batch, H, D}, 5, 1.0f), k1 = random_on_gpu({batch, Hkv, D}, 6, 1.0f);
  const Tensor v1 = random_on_gpu({batch, Hkv, D}, 7, 1.0f);
  Tensor out1 = Tensor::empty({batch, H, D}, DType::F32, gpu), lse1 = Tensor::empty({H * batch}, DType::F32, gpu);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const double step = median_seconds(reps, [&] {
    for (int64_t s = 0; s < batch; ++s) caches[static_cast<size_t>(s)].length = lengths[static_cast<size_t>(s)];
    ops::attention_forward(q1, k1, v1, scale, one, cache_ptrs, out1, lse1);
  });
  const Tensor out_host = out1.to(Device::cpu()), lse_host = lse1.to(Device::cpu());
  const std::string digest =
      content_digest(std::string(static_cast<const char*>(out_host.raw()), out_host.nbytes()) +
                     std::string(static_cast<const char*>(lse_host.raw()), lse_host.nbytes()));
  std::printf("  decode step, %lld sequences over %lld-%lld cached: %.3f ms, %.2f TB/s of cache read "
              "(out and lse %s)\n",
              static_cast<long long>(batch), static_cast<long long>(shortest), static_cast<long long>(longest),
              step * 1e3, bytes / step / 1e12, digest.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  const int64_t n_seqs = 48, H = 16, Hkv = 4, D = 256, shortest = 250, longest = 450;
  if (ops::cuda_device_count() == 0) {
    std::printf("no GPU (or a build without CUDA): nothing to measure\n");
    return 0;
  }
  ops::activate_device(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  std::mt19937 gen(4);
  std::uniform_int_distribution<int64_t> length(shortest, longest);
  ops::Varlen seqs{{0}};
  double pairs = 0;  // causal (query, key) pairs per head
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t T = length(gen);
    seqs.offsets.push_back(seqs.offsets.back() + T);
    pairs += 0.5 * double(T) * double(T + 1);
  }
  const int64_t N = seqs.rows();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  // Unit-variance q and k: scores of a few units after the scale, as in a trained model.
  const Tensor q = random_on_gpu({N, H, D}, 1, 1.0f), k = random_on_gpu({N, Hkv, D}, 2, 1.0f);
  const Tensor v = random_on_gpu({N, Hkv, D}, 3, 1.0f), dout = random_on_gpu({N, H, D}, 4, 1.0f);
  Tensor out = Tensor::empty({N, H, D}, DType::F32, gpu), lse = Tensor::empty({H * N}, DType::F32, gpu);
  Tensor dq = Tensor::empty({N, H, D}, DType::F32, gpu), dk = Tensor::empty({N, Hkv, D}, DType::F32, gpu);
  Tensor dv = Tensor::empty({N, Hkv, D}, DType::F32, gpu);
  std::printf("cuda attention, %lld tokens in %lld sequences, H %lld, Hkv %lld, D %lld:\n",
              static_cast<long long>(N), static_cast<long long>(n_seqs), static_cast<long long>(H),
              static_cast<long long>(Hkv), static_cast<long long>(D));
  // The f32 mode's products (3xTF32) and the bf16 mode's (TF32), ops/product_precision.h.
  for (const ops::ProductPrecision products : {ops::ProductPrecision::f32, ops::ProductPrecision::tf32}) {
    const double fwd =
        median_seconds(reps, [&] { ops::attention_forward(q, k, v, scale, seqs, {}, out, lse, products); });
    const double bwd = median_seconds(
        reps, [&] { ops::attention_backward(q, k, v, out, lse, dout, scale, seqs, dq, dk, dv, products); });
    const double fwd_flops = 4.0 * double(D) * double(H) * pairs, bwd_flops = 2.5 * fwd_flops;
    std::printf(" %s products:\n", products == ops::ProductPrecision::f32 ? "3xTF32 (f32 mode)" : "TF32 (bf16 mode)");
    std::printf("  forward  %8.3f ms = %6.2f TFLOP/s\n", fwd * 1e3, fwd_flops / fwd / 1e12);
    std::printf("  backward %8.3f ms = %6.2f TFLOP/s\n", bwd * 1e3, bwd_flops / bwd / 1e12);
    std::printf("  8 layers forward + backward: %.3f s\n", 8.0 * (fwd + bwd));
  }

  // Decode: one new token per sequence over caches of random keys and values, at the training
  // batch's 48 sequences and at the experiment seed's generation batch of 256.
  for (const int64_t batch : {n_seqs, int64_t{256}}) decode_step(batch, H, Hkv, D, shortest, longest, reps);
  return 0;
}
