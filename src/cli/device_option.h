#pragma once
// `--device cpu|cuda[:N]` as every command that can run on a GPU declares it: the default is the
// first GPU when this build and machine have one, else the CPU.
#include <CLI/CLI.hpp>
#include <string>

#include "core/device.h"

namespace s0::cli {

// Declares --device; `what` says which work goes to the device.
void add_device_option(CLI::App& app, std::string& device, const std::string& what);

// The device the option names ("" = the default above), made usable (ops/device_runtime.h).
Device activated_device(const std::string& device);

}  // namespace s0::cli
