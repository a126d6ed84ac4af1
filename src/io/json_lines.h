#pragma once
// JSON-lines files (datasets, training examples, completions): one JSON object per line, blank
// lines ignored; errors name the file and line. The file is read in chunks, never whole, and a
// line may hold at most kMaxJsonLineBytes: a longer one is an error raised as soon as the limit is
// passed, so a runaway line costs at most that much memory and reading time.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "io/json.h"

namespace s0 {

// 16 MiB: a thousand times a long training example or benchmark row, far below what would strain
// memory when parsed.
constexpr size_t kMaxJsonLineBytes = size_t(16) << 20;

// Calls `row` for each non-blank line with the parsed object and its origin ("FILE line N").
// Returns the number of such lines. A line that is not a JSON object, or is longer than
// `max_line_bytes`, is an error.
size_t for_each_json_line(const std::filesystem::path& path,
                          const std::function<void(const Json& row, const std::string& origin)>& row,
                          size_t max_line_bytes = kMaxJsonLineBytes);

}  // namespace s0
