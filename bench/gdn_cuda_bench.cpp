// The CUDA gated delta rule, forward and backward, on one GatedDeltaNet layer of the Qwen3.5-4B
// training shape: ~17,000 packed tokens in 48 sequences of 250-450, 32 value heads, dk = dv = 128,
// every sequence starting from the adapter's state (S0 tuning) and the backward handing back its
// gradient. Random inputs shaped as the mixer makes them (q, k unit rows, q scaled by dk^-1/2, log
// decays in [-2, -0.01], beta in (0.05, 0.95)); two warm-up calls, then the median of `reps` timed
// ones (each synchronised). The step has 24 such layers: the last column multiplies by 24. Then
// the same with the forward keeping its chunk states for the backward (as on a whole tape), whose
// outputs must be the same bits. Then both with TF32 chunk products (the bf16 mode's,
// ops/product_precision.h). The digest of every output tells two builds of the kernels apart when
// their bits differ (tuning a tile shape must not change them).
//   build/bench/gdn_cuda_bench [reps=10]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/digest.h"
#include "gpu_timing.h"
#include "ops/device_runtime.h"
#include "ops/gated_delta.h"

using namespace s0;

namespace {

Tensor on_gpu(Shape shape, std::vector<float> values) {
  return Tensor::from(std::move(shape), values).to(Device::cuda(0));
}

Tensor uniform(const Shape& shape, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (float& x : v) x = dist(rng);
  return on_gpu(shape, std::move(v));
}

// Rows of the last dimension with norm `scale`.
Tensor unit_rows(const Shape& shape, float scale, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (float& x : v) x = dist(rng);
  const size_t width = static_cast<size_t>(shape.back());
  for (size_t r = 0; r < v.size() / width; ++r) {
    double norm = 0.0;
    for (size_t e = 0; e < width; ++e) norm += double(v[r * width + e]) * v[r * width + e];
    for (size_t e = 0; e < width; ++e) v[r * width + e] *= scale / static_cast<float>(std::sqrt(norm));
  }
  return on_gpu(shape, std::move(v));
}

// The op's outputs: o, then the gradients.
struct Outputs {
  Tensor o, dq, dk, dv, dg, dbeta;
  std::vector<Tensor> d_initial;
};

Outputs outputs_for(int64_t N, int64_t H, int64_t dk, int64_t dv) {
  auto make = [](Shape shape) { return Tensor::empty(std::move(shape), DType::F32, Device::cuda(0)); };
  return {make({N, H, dv}), make({N, H, dk}), make({N, H, dk}), make({N, H, dv}), make({N, H}), make({N, H}), {}};
}

std::string digest_of(const Outputs& out) {
  std::string bytes;
  for (const Tensor* t : {&out.o, &out.dq, &out.dk, &out.dv, &out.dg, &out.dbeta, &out.d_initial.at(0)}) {
    const Tensor host = t->to(Device::cpu());
    bytes.append(static_cast<const char*>(host.raw()), host.nbytes());
  }
  return content_digest(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  if (reps < 1) {
    std::fprintf(stderr, "gdn_cuda_bench: reps must be a positive count, got '%s'\n", argv[1]);
    return 2;
  }
  if (ops::cuda_device_count() == 0) {
    std::printf("no GPU (or a build without CUDA): nothing to measure\n");
    return 0;
  }
  ops::activate_device(Device::cuda(0));
  const int64_t n_seqs = 48, H = 32, dk = 128, dv = 128;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> length(250, 450);
  ops::Varlen seqs{{0}};
  for (int64_t s = 0; s < n_seqs; ++s) seqs.offsets.push_back(seqs.offsets.back() + length(rng));
  const int64_t N = seqs.rows();
  const Tensor q = unit_rows({N, H, dk}, 1.0f / std::sqrt(float(dk)), rng), k = unit_rows({N, H, dk}, 1.0f, rng);
  const Tensor v = uniform({N, H, dv}, -1, 1, rng), g = uniform({N, H}, -2.0f, -0.01f, rng);
  const Tensor beta = uniform({N, H}, 0.05f, 0.95f, rng), d_o = uniform({N, H, dv}, -1, 1, rng);
  std::vector<ops::SequenceStart> starts(static_cast<size_t>(n_seqs));
  const Tensor s0 = uniform({H, dk, dv}, -1, 1, rng);
  for (auto& start : starts) start.initial = s0;
  // The forward and backward into `out`; with `chunk_states`, the forward keeps them there and the
  // backward starts from them.
  auto measure = [&](Outputs& out, Tensor* chunk_states, ops::ProductPrecision products) {
    const double fwd = bench::median_seconds(reps, [&] {
      ops::gated_delta_forward(q, k, v, g, beta, seqs, starts, out.o, nullptr, chunk_states, products);
    }, 2);
    const Tensor kept = chunk_states ? *chunk_states : Tensor();
    const double bwd = bench::median_seconds(reps, [&] {
      ops::gated_delta_backward(q, k, v, g, beta, seqs, starts, d_o, out.dq, out.dk, out.dv, out.dg, out.dbeta,
                                &out.d_initial, kept, products);
    }, 2);
    return std::make_pair(fwd, bwd);
  };
  std::printf("gated delta rule, %lld tokens in %lld sequences, H %lld, dk %lld, dv %lld (median of %d):\n",
              static_cast<long long>(N), static_cast<long long>(n_seqs), static_cast<long long>(H),
              static_cast<long long>(dk), static_cast<long long>(dv), reps);
  bool same = true;
  for (const ops::ProductPrecision products : {ops::ProductPrecision::f32, ops::ProductPrecision::tf32}) {
    Outputs recomputing = outputs_for(N, H, dk, dv), from_kept = outputs_for(N, H, dk, dv);
    Tensor chunk_states;
    const auto [fwd, bwd] = measure(recomputing, nullptr, products);
    const auto [fwd_kept, bwd_kept] = measure(from_kept, &chunk_states, products);
    std::printf("products in %s:\n", products == ops::ProductPrecision::f32 ? "3xTF32 (f32 accuracy)" : "TF32");
    std::printf("  forward  %9.3f ms   x24 layers %8.1f ms\n", fwd * 1e3, 24 * fwd * 1e3);
    std::printf("  backward %9.3f ms   x24 layers %8.1f ms\n", bwd * 1e3, 24 * bwd * 1e3);
    std::printf("  forward keeping chunk states (%.0f MB)  %9.3f ms   x24 layers %8.1f ms\n",
                static_cast<double>(chunk_states.nbytes()) / 1e6, fwd_kept * 1e3, 24 * fwd_kept * 1e3);
    std::printf("  backward from the kept chunk states    %9.3f ms   x24 layers %8.1f ms\n", bwd_kept * 1e3,
                24 * bwd_kept * 1e3);
    const std::string digest = digest_of(recomputing);
    std::printf("  digest of the outputs %s\n", digest.c_str());
    const bool kept_same = digest_of(from_kept) == digest;
    std::printf("  outputs with kept chunk states: %s\n", kept_same ? "the same bits" : "DIFFERENT BITS");
    same = same && kept_same;
  }
  return same ? 0 : 1;
}
