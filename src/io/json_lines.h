#pragma once
// JSON-lines files (datasets, training examples, completions): one JSON object per line, blank
// lines ignored; errors name the file and line.
#include <filesystem>
#include <functional>
#include <string>

#include "io/json.h"

namespace s0 {

// Calls `row` for each non-blank line with the parsed object and its origin ("FILE line N").
// Returns the number of such lines. A line that is not a JSON object is an error.
size_t for_each_json_line(const std::filesystem::path& path,
                          const std::function<void(const Json& row, const std::string& origin)>& row);

}  // namespace s0
