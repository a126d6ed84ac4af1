#pragma once
// The options `s0 collect` and `s0 eval` share: which benchmark and split, where the data and the
// completions are, how programs run. Generation from a model is not in this build yet, so the
// completions must come from a file; the model options are declared now so that the error says so.
#include <CLI/CLI.hpp>
#include <string>

#include "core/error.h"
#include "eval/harness.h"

namespace s0::cli {

constexpr const char* kCompletionsHelp =
    "JSON lines of model outputs, one sample per line: {\"task_id\": ID, \"completion\": TEXT} or "
    "{\"index\": ROW, \"completion\": TEXT}. ID is the HumanEval task_id, the MATH-500 unique_id, or "
    "gsm8k/ROW; ROW is the 0-based line of the problem in --data (HumanEval: the task number). Several "
    "lines for one problem are its samples, the first being the greedy one; other fields are ignored";

struct HarnessOptions {
  std::string benchmark, data, completions, split, model, adapter;
  int workers = 0;
  double timeout = kHumanEvalSeconds;
  bool unsafe = false;

  void declare(CLI::App& app, const std::string& default_split) {
    split = default_split;
    app.add_option("--benchmark", benchmark, "humaneval, gsm8k or math500")->required();
    app.add_option("--data", data, "the benchmark's JSON lines file (as published)")->required();
    app.add_option("--completions", completions, kCompletionsHelp);
    app.add_option("--split", split, "train, eval or all (the paper's splits; see docs/eval.md)")
        ->capture_default_str();
    app.add_option("--model", model, "model folder to generate with (not available yet in this build)");
    app.add_option("--adapter", adapter, "S0 adapter to generate with (not available yet in this build)");
    app.add_option("--workers", workers, "programs run in parallel (default: one per core)");
    app.add_option("--timeout", timeout, "wall-clock seconds per HumanEval program")->capture_default_str();
    app.add_flag("--unsafe-no-sandbox", unsafe,
                 "run model-written programs without the bubblewrap sandbox (rlimits and a timeout only)");
  }

  CompletionFileRun request() const {
    if (completions.empty())
      fail(
          "generation from a model is not available yet in this build; pass --completions FILE with the "
          "model's outputs (see --help)");
    if (!model.empty() || !adapter.empty())
      fail(
          "--model and --adapter drive generation, which is not available yet in this build; with "
          "--completions the outputs are already given");
    CompletionFileRun run;
    run.benchmark = parse_benchmark(benchmark);
    run.data = data;
    run.split = parse_split(split);
    run.completions = completions;
    run.workers = workers;
    run.timeout_seconds = timeout;
    run.unsafe_no_sandbox = unsafe;
    return run;
  }
};

// Refuses to replace an existing file unless --force: results are expensive to recompute.
inline void check_output_path(const std::string& path, bool force) {
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec)) fail(path, ": already exists (pass --force to overwrite)");
}

}  // namespace s0::cli
