#pragma once
// The prompts file of `s0 generate --prompts`: JSON lines {"prompt": TEXT, "adapter": DIR}, where
// "adapter" is optional (null or absent: the command's --adapter, if any) and other keys are
// ignored (they may carry the caller's ids). Blank lines are skipped.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace s0 {

struct PromptLine {
  std::string prompt;
  std::optional<std::string> adapter;
};

// Fails naming the file and line of a malformed entry, or an empty file.
std::vector<PromptLine> read_prompt_file(const std::filesystem::path& path);

}  // namespace s0
