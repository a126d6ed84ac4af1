#pragma once
// The same model with every weight on another device, for a forward there. The model on the CPU is
// left as it is; a tied LM head stays one tensor with the embedding on the new device too.
//
// Matrices (projections, embedding, LM head) take `matrices` as their dtype: bf16 (the speed mode:
// on a GPU, bf16 tensor-core GEMMs with float32 accumulation, activations in float32; on the CPU,
// bf16 x bf16 products with float32 accumulation, activations rounded to bf16 at each product's
// input: Linear::bf16_products) or f32 (the exactness mode); unset keeps each matrix as the
// checkpoint stores it (bf16 stays bf16, anything else is float32). Vectors are float32 everywhere.
// On a GPU the bf16 mode also multiplies within the chunked recurrences (the gated delta rule,
// SSD) and attention in TF32 instead of 3xTF32 (the mixers' `products`, ops/product_precision.h); the
// f32 mode keeps float32's accuracy.
// The measured distance of the CPU's bf16 mode from its f32 mode: tests/model/bf16_cpu_test.cpp.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "model/arch/registry.h"
#include "model/model.h"

namespace s0 {

HybridModel model_on(const HybridModel& model, Device device, std::optional<DType> matrices = std::nullopt);

// Calls f(tensor, is_matrix) once for every weight of the model, empty optional ones included; a
// tied LM head is the embedding and is not visited again. Matrices: projections, embedding, LM head.
void for_each_weight(HybridModel& model, const std::function<void(Tensor&, bool is_matrix)>& f);
// Calls f(linear) once for every Linear of the model, the LM head included (tied or not).
void for_each_linear(HybridModel& model, const std::function<void(Linear&)>& f);

// The bytes the model's weights take on `device` with `matrices` (as model_on would place them).
int64_t weight_bytes_on(const HybridModel& model, Device device, std::optional<DType> matrices);

// Loads a model folder for `device`: bf16 matrices are read as they are stored (no float32 copy on
// the host) and placed with model_on. f32 on the CPU is the plain float32 load (load_model).
HybridModel load_model_on(const std::filesystem::path& dir, Device device, std::optional<DType> matrices);

// The matrices' dtype a command's --dtype names: "bf16" or "f32"; none for "" (each matrix as the
// checkpoint stores it).
std::optional<DType> matrix_dtype(const std::string& dtype);

}  // namespace s0
