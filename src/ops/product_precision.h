#pragma once
// How a GPU multiplies within the chunked recurrences (the gated delta rule, ops/gated_delta.h, and
// SSD, ops/ssd.h; ops/cuda/block_mma.cuh does the products) and within attention's tiles
// (ops/attention.h). The CPU always computes in float32 and takes no notice.
namespace s0::ops {

enum class ProductPrecision {
  // float32's accuracy, as the CPU: each product in 3xTF32 on the tensor cores (the f32 mode's,
  // which the fixtures measure).
  f32,
  // one TF32 product per term (operands rounded to 11 significant bits, about 2^-11 relative),
  // summed in float32 on the tensor cores: the gated delta rule about 1.4x faster, attention 2x
  // (H200, gdn_cuda_bench and cuda_attention_bench). The bf16 mode's
  // choice on a GPU, whose GEMM inputs are already rounded to bf16's 8 bits; still the same bits run
  // to run and for any batch.
  tf32,
};

}  // namespace s0::ops
