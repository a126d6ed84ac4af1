#pragma once
// The sampling and length options every generating command declares (`s0 generate`, `s0
// collect`, `s0 eval`), each with the command's own defaults.
#include <CLI/CLI.hpp>

#include "cli/device_option.h"
#include "generate/generator.h"

namespace s0::cli {

struct GenerationFlags {
  int64_t max_new_tokens = 128;
  double temperature = 0.0, top_p = 1.0;
  int64_t top_k = 0, batch = 16;
  uint64_t seed = 0;
  std::string dtype;  // --dtype: the weight matrices' dtype

  void declare(CLI::App& app) {
    add_dtype_option(app, dtype);
    // Ranges are checked by the generator and sampler themselves (GenerationOptions may come from
    // elsewhere than the command line); main refuses non-finite values for every flag.
    app.add_option("--max-new-tokens", max_new_tokens, "tokens to generate at most per prompt")->capture_default_str();
    app.add_option("--temperature", temperature, "sampling temperature; 0 = greedy")->capture_default_str();
    app.add_option("--top-p", top_p, "nucleus sampling: keep the most likely tokens up to this probability mass")
        ->capture_default_str();
    app.add_option("--top-k", top_k, "keep the k most likely tokens; 0 = all")->capture_default_str();
    app.add_option("--seed", seed, "random seed; each prompt's stream also depends on its index, not on the batch")
        ->capture_default_str();
    app.add_option("--batch", batch, "sequences decoded together")->capture_default_str();
  }

  GenerationOptions options(const std::vector<int64_t>& eos_ids) const {
    GenerationOptions o;
    o.max_new_tokens = max_new_tokens;
    o.sampling = {temperature, top_p, top_k, seed};
    o.eos_ids = eos_ids;
    o.batch = batch;
    return o;
  }
};

}  // namespace s0::cli
