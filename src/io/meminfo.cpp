#include "io/meminfo.h"

#include <fstream>
#include <sstream>

namespace s0 {

int64_t available_memory_bytes(const std::string& meminfo) {
  std::istringstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = -1;
    std::string unit;
    if (fields >> kib >> unit && unit == "kB" && kib >= 0) return kib * 1024;
    return -1;
  }
  return -1;
}

int64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  if (!f) return -1;
  std::ostringstream text;
  text << f.rdbuf();
  return available_memory_bytes(text.str());
}

}  // namespace s0
