#pragma once
// `--device cpu|cuda[:N]` as every command that can run on a GPU declares it: the default is the
// first GPU when this build and machine have one, else the CPU. And `--dtype`, beside it.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "model/model_on_device.h"
#include "ops/device_runtime.h"

namespace s0::cli {

// Declares --device; `what` says which work goes to the device.
void add_device_option(CLI::App& app, std::string& device, const std::string& what);

// The device the option names and the matrices' dtype: the library's readings of the two values.
using ops::activated_device;
using s0::matrix_dtype;

// Declares `--dtype bf16|f32`: the dtype of the weight matrices (model/model_on_device.h).
void add_dtype_option(CLI::App& app, std::string& dtype);

}  // namespace s0::cli
