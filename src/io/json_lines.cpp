#include "io/json_lines.h"

#include "core/error.h"
#include "io/file.h"

namespace s0 {

size_t for_each_json_line(const std::filesystem::path& path,
                          const std::function<void(const Json& row, const std::string& origin)>& row) {
  const std::string text = read_file(path);
  size_t line_no = 0, start = 0, rows = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    ++line_no;
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string origin = cat(path.string(), " line ", line_no);
    const Json j = parse_json(line, origin);
    if (!j.is_object()) fail(origin, ": expected a JSON object");
    ++rows;
    row(j, origin);
  }
  return rows;
}

}  // namespace s0
