#pragma once
// Small string helpers shared by error messages and listings.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace s0 {

// "a, b, c" from {"a", "b", "c"} with sep ", ".
inline std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// A byte count for people: "812 B", "3.4 MiB", "7.82 GiB" (binary units, three significant digits).
inline std::string bytes_text(int64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace s0
