#pragma once
// The token ids that end generation for a model folder: eos_token_id of config.json (already in
// the loaded model) together with that of generation_config.json when the folder has one, which
// is what Hugging Face's generate() stops on.
#include <filesystem>
#include <vector>

#include "model/model.h"

namespace s0 {

std::vector<int64_t> model_eos_ids(const HybridModel& model, const std::filesystem::path& dir);

}  // namespace s0
