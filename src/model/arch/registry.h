#pragma once
// The one list of model families: model_type in config.json -> the loader that builds a
// HybridModel from the checkpoint. Adding a family means adding its file and one entry here.
#include <filesystem>

#include "io/checkpoint.h"
#include "model/model.h"

namespace s0 {

// How weights are read. By default everything is widened to float32 at load (the exactness mode).
// The bf16 modes (a GPU's, the CPU's: model/model_on_device.h) compute with bfloat16 matrices: with
// keep_bf16_matrices, the matrices (every rank-2 weight: projections, embedding, LM head) that the
// checkpoint stores as bf16 stay bf16 (memory-mapped views where no transform applies), so a bf16
// checkpoint needs no float32 copy on the host. Vectors and conv kernels are always widened: they are small and read by float32 kernels.
struct LoadOptions {
  bool keep_bf16_matrices = false;
};

HybridModel load_model(const std::filesystem::path& dir, const LoadOptions& options = {});
HybridModel load_model(const Checkpoint& ck, const LoadOptions& options = {});

// Family loaders (one file each in model/arch/).
HybridModel load_qwen3_5(const Checkpoint& ck, const LoadOptions& options);
HybridModel load_qwen3_5_moe(const Checkpoint& ck, const LoadOptions& options);
HybridModel load_qwen3_next(const Checkpoint& ck, const LoadOptions& options);
HybridModel load_falcon_h1(const Checkpoint& ck, const LoadOptions& options);
HybridModel load_bamba(const Checkpoint& ck, const LoadOptions& options);
HybridModel load_granitemoehybrid(const Checkpoint& ck, const LoadOptions& options);
HybridModel load_nemotron_h(const Checkpoint& ck, const LoadOptions& options);

}  // namespace s0
