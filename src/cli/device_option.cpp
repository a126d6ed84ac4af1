#include "cli/device_option.h"

namespace s0::cli {

void add_device_option(CLI::App& app, std::string& device, const std::string& what) {
  app.add_option("--device", device,
                 "cpu, or cuda[:N]: where " + what + " (default: cuda:0 when a GPU is present, else cpu)");
}

void add_dtype_option(CLI::App& app, std::string& dtype) {
  app.add_option("--dtype", dtype,
                 "bf16 or f32: the weight matrices; bf16 multiplies them in bf16 (float32 accumulation, "
                 "states in float32; the GPU's tensor cores, the CPU's AMX / AVX-512 BF16), f32 is the exactness "
                 "mode (default: as the checkpoint stores them)")
      ->check(CLI::IsMember({"bf16", "f32"}));
}

}  // namespace s0::cli
