#pragma once
// The options `s0 collect` and `s0 eval` share: which benchmark and split, where the data is, where
// the completions come from (a file, or a model that generates them now), how programs run.
#include <CLI/CLI.hpp>
#include <string>

#include "core/error.h"
#include "cli/device_option.h"
#include "cli/generation_flags.h"
#include "cli/model_folder.h"
#include "cli/quiet_flag.h"
#include "cli/validators.h"
#include "eval/executor.h"
#include "experiment/harness_run.h"

namespace s0::cli {

constexpr const char* kCompletionsHelp =
    "JSON lines of model outputs, one sample per line: {\"task_id\": ID, \"completion\": TEXT} or "
    "{\"index\": ROW, \"completion\": TEXT}. ID is the HumanEval task_id, the MATH-500 unique_id, or "
    "gsm8k/ROW; ROW is the 0-based line of the problem in --data (HumanEval: the task number). Several "
    "lines for one problem are its samples, the first being the greedy one; other fields are ignored";

// A program that needs more than an hour is a hung one; larger values would also overflow the
// conversion to a duration.
constexpr double kMaxProgramSeconds = 3600;

// The flags of the harness's request (experiment/harness_run.h).
struct HarnessOptions : HarnessRequest {
  // `sampling` holds the command's defaults for generation (collect samples, eval is greedy).
  void declare(CLI::App& app, const std::string& default_split, const GenerationFlags& sampling,
               int64_t default_samples) {
    split = default_split;
    generation = sampling;
    samples = default_samples;
    app.add_option("--benchmark", benchmark, "humaneval, gsm8k or math500")->required();
    app.add_option("--data", data, "the benchmark's JSON lines file (as published)")->required();
    app.add_option("--completions", completions, kCompletionsHelp);
    app.add_option("--split", split, "train, eval or all (the paper's splits; see docs/eval.md)")
        ->capture_default_str();
    add_model_option(app, model,
                   "model folder to generate the completions with (instead of --completions): each problem's "
                   "prompt as the user message of the model's chat template, thinking disabled");
    add_adapter_options(app, adapter, alpha, "with --model: S0 adapter the generation starts from");
    app.add_option("--samples", samples, "with --model: completions generated per problem")->capture_default_str();
    declare_generation_flags(app, generation);
    add_device_option(app, device, "the model generates (with --model)");
    add_dtype_option(app, dtype);
    app.add_option("--workers", workers,
                   cat("programs run in parallel, 1 to ", max_workers(), " (default: one per core)"));
    app.add_option("--timeout", timeout, "wall-clock seconds per HumanEval program")->capture_default_str()
        ->check(between(0.01, kMaxProgramSeconds));
    app.add_flag("--unsafe-no-sandbox", unsafe,
                 "run model-written programs without the bubblewrap sandbox (rlimits and a timeout only)");
    add_quiet_flag(app, quiet);
  }
};

}  // namespace s0::cli
