#pragma once
// The sampling and length options every generating command declares (`s0 generate`, `s0
// collect`, `s0 eval`), each with the command's own defaults.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/validators.h"
#include "generate/generation_settings.h"

namespace s0::cli {

// --batch, the same for every generating command and `s0 experiment`.
inline CLI::Option* add_batch_option(CLI::App& app, std::optional<int64_t>& batch) {
  return app
      .add_option("--batch", batch,
                  "sequences decoded together (default: 16 on the CPU; on a GPU as many as half its free memory "
                  "holds, at most 256)")
      ->check(at_least(1));
}

// --eager, the same for every generating command, `s0 experiment` and `s0 serve`.
inline CLI::Option* add_eager_flag(CLI::App& app, bool& eager) {
  return app.add_flag("--eager", eager,
                      "on a GPU, queue every kernel of a decode step from the host instead of replaying CUDA graphs "
                      "of its recurrent blocks (the same tokens, more time; for comparisons)");
}

// --state-dtype and --kv-dtype, the same for every generating command, `s0 experiment` and `s0 serve`.
inline void add_cache_dtype_options(CLI::App& app, CacheDtypes& dtypes) {
  auto dtype_option = [&app](const std::string& name, DType& dtype, const std::string& help) {
    app.add_option_function<std::string>(
           name, [&dtype](const std::string& v) { dtype = v == "bf16" ? DType::BF16 : DType::F32; }, help)
        ->check(CLI::IsMember({"f32", "bf16"}));
  };
  dtype_option("--state-dtype", dtypes.state,
               "f32 or bf16: the dtype each sequence's recurrent states are kept in between decode steps (default "
               "f32, as Qwen3.5's config asks); bf16 halves their memory and a GPU decode step's state traffic, "
               "rounding every state once a step (the recurrence still computes in float32)");
  dtype_option("--kv-dtype", dtypes.kv,
               "f32 or bf16: the dtype the attention layers' cached keys and values are kept in (default f32); bf16 "
               "halves their memory and a GPU decode step's reads of them, rounding each key and value once, as it "
               "enters the cache");
}

// Binds the flags to `s`, whose values are the defaults shown.
inline void declare_generation_flags(CLI::App& app, GenerationSettings& s) {
  // Ranges are checked by the generator and sampler themselves (GenerationOptions may come from
  // elsewhere than the command line); main refuses non-finite values for every flag.
  app.add_option("--max-new-tokens", s.max_new_tokens, "tokens to generate at most per prompt")->capture_default_str();
  app.add_option("--temperature", s.temperature, "sampling temperature; 0 = greedy")->capture_default_str();
  app.add_option("--top-p", s.top_p, "nucleus sampling: keep the most likely tokens up to this probability mass")
      ->capture_default_str();
  app.add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = all")->capture_default_str();
  app.add_option("--seed", s.seed, "random seed; each prompt's stream also depends on its index, not on the batch")
      ->capture_default_str();
  add_batch_option(app, s.batch);
  add_eager_flag(app, s.eager);
  add_cache_dtype_options(app, s.cache_dtypes);
}

struct GenerationFlags : GenerationSettings {
  void declare(CLI::App& app) { declare_generation_flags(app, *this); }
};

}  // namespace s0::cli
