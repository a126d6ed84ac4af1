#pragma once
// An activation a kernel writes as float32, or as bf16 where its one reader is a bf16 GEMM
// (ops::linear_input_dtype): the kernel then rounds each result itself, as the GEMM's rounding pass
// would have (nearest even), so the product gets the same bits without a pass over the float32
// copy. And one a kernel reads as float32, or as bf16 where a bf16 GEMM wrote it so
// (ops::linear_output_dtype). Plain C++: the host compiler has no bf16 type.
namespace s0::ops::cuda {

struct Output {
  void* data = nullptr;
  bool bf16 = false;
};

struct Input {
  const void* data = nullptr;
  bool bf16 = false;
};

}  // namespace s0::ops::cuda
