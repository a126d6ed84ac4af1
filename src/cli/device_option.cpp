#include "cli/device_option.h"

#include "ops/device_runtime.h"

namespace s0::cli {

void add_device_option(CLI::App& app, std::string& device, const std::string& what) {
  app.add_option("--device", device,
                 "cpu, or cuda[:N]: where " + what + " (default: cuda:0 when a GPU is present, else cpu)");
}

Device activated_device(const std::string& device) {
  const Device d = device.empty() ? (ops::cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu())
                                  : parse_device(device, "--device");
  ops::activate_device(d);
  return d;
}

}  // namespace s0::cli
