#pragma once
// The one list of model families: model_type in config.json -> the loader that builds a
// HybridModel from the checkpoint. Adding a family means adding its file and one entry here.
#include <filesystem>

#include "io/checkpoint.h"
#include "model/model.h"

namespace s0 {

HybridModel load_model(const std::filesystem::path& dir);
HybridModel load_model(const Checkpoint& ck);

// Family loaders (one file each in model/arch/).
HybridModel load_qwen3_5(const Checkpoint& ck);
HybridModel load_qwen3_5_moe(const Checkpoint& ck);
HybridModel load_qwen3_next(const Checkpoint& ck);
HybridModel load_falcon_h1(const Checkpoint& ck);
HybridModel load_bamba(const Checkpoint& ck);
HybridModel load_granitemoehybrid(const Checkpoint& ck);
HybridModel load_nemotron_h(const Checkpoint& ck);

}  // namespace s0
