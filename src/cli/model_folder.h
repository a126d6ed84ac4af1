#pragma once
// The model folder every command names: a folder, or a Hugging Face repo id (`Qwen/Qwen3.5-4B`,
// `org/name@revision`) resolved offline from the hub cache (io/hf_cache.h). The option's value
// becomes the folder, so everything after parsing sees a path.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace s0::cli {

// Turns a folder-or-repo-id value into the folder, or reports where it looked.
CLI::Validator hub_folder();

// Declares `--model` with `help` and the repo-id resolution.
CLI::Option* add_model_option(CLI::App& app, std::string& model, const std::string& help);

// `--adapter` (a folder or hub repo id, resolved like --model) and `--alpha`, its scale, as every
// generating command declares them; `adapter_help` says what the adapter applies to.
void add_adapter_options(CLI::App& app, std::string& adapter, std::optional<double>& alpha,
                         const std::string& adapter_help);

}  // namespace s0::cli
