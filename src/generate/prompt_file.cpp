#include "generate/prompt_file.h"

#include <sstream>

#include "core/error.h"
#include "io/file.h"
#include "io/json.h"

namespace s0 {

std::vector<PromptLine> read_prompt_file(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::vector<PromptLine> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string origin = path.string() + " line " + std::to_string(number);
    const Json j = parse_json(line, origin);
    if (!j.is_object()) fail(origin, ": expected an object {\"prompt\": TEXT, \"adapter\": DIR}");
    PromptLine p{json_string(j, "prompt", origin), std::nullopt};
    auto a = j.find("adapter");
    if (a != j.end() && !a->is_null()) {
      if (!a->is_string()) fail(origin, ": \"adapter\" must be a folder name (a string) or null");
      p.adapter = a->get<std::string>();
    }
    out.push_back(std::move(p));
  }
  if (out.empty()) fail(path.string(), ": no prompts (expected JSON lines {\"prompt\": TEXT})");
  return out;
}

}  // namespace s0
