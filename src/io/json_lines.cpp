#include "io/json_lines.h"

#include <cstring>
#include <vector>

#include "core/error.h"
#include "io/file.h"

namespace s0 {

namespace {

std::string size_text(size_t bytes) {
  if (bytes >= (size_t(1) << 20) && bytes % (size_t(1) << 20) == 0) return cat(bytes >> 20, " MiB");
  return cat(bytes, " bytes");
}

}  // namespace

size_t for_each_json_line(const std::filesystem::path& path,
                          const std::function<void(const Json& row, const std::string& origin)>& row,
                          size_t max_line_bytes) {
  InputFile in = InputFile::open(path);
  size_t line_no = 1, rows = 0;
  std::string line;
  auto finish_line = [&] {
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      const std::string origin = cat(path.string(), " line ", line_no);
      const Json j = parse_json(line, origin);
      if (!j.is_object()) fail(origin, ": expected a JSON object");
      ++rows;
      row(j, origin);
    }
    line.clear();
    ++line_no;
  };
  std::vector<char> chunk(size_t(1) << 20);
  while (const size_t n = in.read_some(chunk.data(), chunk.size())) {
    for (size_t pos = 0; pos < n;) {
      const char* begin = chunk.data() + pos;
      const char* newline = static_cast<const char*>(std::memchr(begin, '\n', n - pos));
      const size_t take = newline ? static_cast<size_t>(newline - begin) : n - pos;
      if (line.size() + take > max_line_bytes)
        fail(path.string(), " line ", line_no, ": longer than ", size_text(max_line_bytes),
             ", the limit for one JSON line");
      line.append(begin, take);
      pos += take;
      if (newline) {
        ++pos;
        finish_line();
      }
    }
  }
  if (!line.empty()) finish_line();
  return rows;
}

}  // namespace s0
