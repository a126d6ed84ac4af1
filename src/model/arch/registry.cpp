#include "model/arch/registry.h"

#include <functional>
#include <map>

#include "core/error.h"
#include "core/strings.h"
#include "io/meminfo.h"
#include "model/arch/load_memory.h"

namespace s0 {

namespace {
const std::map<std::string, std::function<HybridModel(const Checkpoint&, const LoadOptions&)>>& families() {
  static const std::map<std::string, std::function<HybridModel(const Checkpoint&, const LoadOptions&)>> f = {
      {"qwen3_5", load_qwen3_5},
      {"qwen3_5_text", load_qwen3_5},
      {"qwen3_5_moe", load_qwen3_5_moe},
      {"qwen3_5_moe_text", load_qwen3_5_moe},
      {"qwen3_next", load_qwen3_next},
      {"falcon_h1", load_falcon_h1},
      {"bamba", load_bamba},
      {"granitemoehybrid", load_granitemoehybrid},
      {"nemotron_h", load_nemotron_h},
  };
  return f;
}
}  // namespace

HybridModel load_model(const std::filesystem::path& dir, const LoadOptions& options) {
  return load_model(Checkpoint::open(dir), options);
}

HybridModel load_model(const Checkpoint& ck, const LoadOptions& options) {
  const std::string type = json_string(ck.config(), "model_type", ck.config_path());
  auto it = families().find(type);
  if (it == families().end()) {
    std::vector<std::string> known;
    for (const auto& kv : families()) known.push_back(kv.first);
    fail(ck.config_path(), ": unknown model_type \"", type, "\" (supported: ", join(known, ", "), ")");
  }
  check_fits_in_memory(ck, options, available_memory_bytes());
  return it->second(ck, options);
}

}  // namespace s0
