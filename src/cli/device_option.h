#pragma once
// `--device cpu|cuda[:N]` as every command that can run on a GPU declares it: the default is the
// first GPU when this build and machine have one, else the CPU. And `--dtype`, beside it.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "core/device.h"
#include "core/tensor.h"

namespace s0::cli {

// Declares --device; `what` says which work goes to the device.
void add_device_option(CLI::App& app, std::string& device, const std::string& what);

// The device the option names ("" = the default above), made usable (ops/device_runtime.h).
Device activated_device(const std::string& device);

// Declares `--dtype bf16|f32`: the dtype of the weight matrices (model/model_on_device.h).
void add_dtype_option(CLI::App& app, std::string& dtype);

// The dtype the option names; none for "" (each matrix as the checkpoint stores it).
std::optional<DType> matrix_dtype(const std::string& dtype);

}  // namespace s0::cli
