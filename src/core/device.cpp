#include "core/device.h"

#include <cctype>

#include "core/error.h"

namespace s0 {

std::string device_name(Device d) {
  return d.is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(d.index);
}

Device parse_device(const std::string& text, const std::string& what) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  const std::string prefix = "cuda:";
  if (text.size() > prefix.size() && text.size() <= prefix.size() + 3 && text.compare(0, prefix.size(), prefix) == 0) {
    int index = 0;
    for (size_t i = prefix.size(); i < text.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) index = -1;
      if (index < 0) break;
      index = index * 10 + (text[i] - '0');
    }
    if (index >= 0) return Device::cuda(index);
  }
  fail(what, ": unknown device \"", text, "\" (expected cpu, cuda or cuda:N)");
}

}  // namespace s0
