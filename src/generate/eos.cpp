#include "generate/eos.h"

#include <algorithm>

#include "io/json.h"
#include "model/arch/hf_config.h"

namespace s0 {

std::vector<int64_t> model_eos_ids(const HybridModel& model, const std::filesystem::path& dir) {
  std::vector<int64_t> ids = model.eos_token_ids;
  const std::filesystem::path gen = dir / "generation_config.json";
  if (std::filesystem::exists(gen))
    for (int64_t id : hf_eos_ids(load_json_file(gen), gen.string()))
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  return ids;
}

}  // namespace s0
