#include "generate/prompt_file.h"

#include "core/error.h"
#include "io/json_lines.h"

namespace s0 {

std::vector<PromptLine> read_prompt_file(const std::filesystem::path& path) {
  std::vector<PromptLine> out;
  for_each_json_line(path, [&](const Json& j, const std::string& origin) {
    PromptLine p{json_string(j, "prompt", origin), std::nullopt};
    auto a = j.find("adapter");
    if (a != j.end() && !a->is_null()) {
      if (!a->is_string()) fail(origin, ": \"adapter\" must be a folder name (a string) or null");
      p.adapter = a->get<std::string>();
    }
    out.push_back(std::move(p));
  });
  if (out.empty()) fail(path.string(), ": no prompts (expected JSON lines {\"prompt\": TEXT})");
  return out;
}

}  // namespace s0
