#include "experiment/harness_run.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "adapter/adapter.h"
#include "core/error.h"
#include "eval/executor.h"
#include "generate/model_session.h"
#include "model/model_on_device.h"
#include "ops/device_runtime.h"

namespace s0 {

CompletionFileRun HarnessRequest::request() const {
  if (completions.empty() == model.empty())
    fail("give --completions FILE (the model's outputs) or --model DIR (generate them now), not ",
         completions.empty() ? "neither" : "both");
  if (alpha && adapter.empty()) fail("--alpha scales an adapter's states: add --adapter DIR");
  if (!adapter.empty() && model.empty())
    fail("--adapter applies to generation with --model; with --completions the outputs are already given");
  if (samples < 1) fail("--samples must be at least 1, got ", samples);
  if ((!device.empty() || !dtype.empty()) && model.empty())
    fail(device.empty() ? "--dtype" : "--device",
         " applies to generation with --model; with --completions nothing runs a model");
  CompletionFileRun run;
  run.benchmark = parse_benchmark(benchmark);
  run.data = data;
  run.split = parse_split(split);
  run.completions = completions;
  if (workers) run.workers = check_workers(*workers, "--workers");
  run.timeout_seconds = timeout;
  run.unsafe_no_sandbox = unsafe;
  run.progress = progress_options(quiet);
  run.sandbox = sandbox;
  return run;
}

// The glue between the evaluation harness and the generation engine: the harness asks for samples
// per problem, the model session produces them.

CheckedRun HarnessRequest::run(const CompletionFileRun& request) const {
  if (!from_model()) return check_completion_file(request);
  return run_arms(request, {{adapter, alpha, std::nullopt}}).front();
}

std::vector<CheckedRun> HarnessRequest::run_arms(const CompletionFileRun& request,
                                                 const std::vector<AdapterArm>& arms) const {
  if (!from_model()) fail("internal: runs generated together need --model");
  if (arms.empty()) fail("internal: no run to generate");
  for (const AdapterArm& arm : arms)
    if (arm.alpha && arm.adapter.empty()) fail("internal: an alpha without an adapter");
  const size_t per_problem = arms.size() * static_cast<size_t>(samples);
  return check_produced_sample_groups(request, arms.size(), [&](const std::vector<Problem>& problems,
                                                                 const SampleSink& ready) {
    std::optional<ModelSession> own;
    ModelSession& session =
        this->session ? *this->session : own.emplace(model, ops::activated_device(device), matrix_dtype(dtype));
    std::vector<std::optional<StateSet>> activated(arms.size());
    for (size_t a = 0; a < arms.size(); ++a)
      if (!arms[a].adapter.empty()) {
        activated[a] = load_activated_adapter(session.model(), arms[a].adapter, arms[a].alpha);
        check_adapter_applies(*activated[a], arms[a].adapter);
      }
    TextOptions to;
    to.generation = generation.options(session.eos_ids());
    to.chat = true;
    to.enable_thinking = false;
    // Sample j of problem i is stream i * samples + j of its arm's run, as in a run of that arm alone.
    std::vector<TextRequest> requests;
    for (size_t i = 0; i < problems.size(); ++i)
      for (size_t a = 0; a < arms.size(); ++a)
        for (int64_t j = 0; j < samples; ++j)
          requests.push_back({problems[i].prompt, activated[a] ? &*activated[a] : nullptr, arms[a].seed,
                              i * static_cast<uint64_t>(samples) + static_cast<uint64_t>(j)});
    std::string sources = source(arms.front());
    if (arms.size() > 1) {
      sources = "model " + model + " for " + std::to_string(arms.size()) + " runs at once:";
      for (const AdapterArm& arm : arms)
        sources += (&arm == &arms.front() ? " " : "; ") +
                   (arm.adapter.empty() ? std::string("no adapter") : "adapter " + arm.adapter) +
                   (arm.alpha ? cat(" at alpha ", *arm.alpha) : "") + (arm.seed ? cat(", seed ", *arm.seed) : "");
    }
    std::fprintf(stderr, "s0: generating %zu completions (%lld per problem%s) with %s\n", requests.size(),
                 static_cast<long long>(samples), arms.size() > 1 ? " and run" : "", sources.c_str());
    Progress progress("generate", "completions", static_cast<int64_t>(requests.size()), progress_options(quiet));
    to.generation.progress = &progress;
    const auto start = std::chrono::steady_clock::now();
    // On a GPU the host is free while the model generates: each completion's check starts as it
    // finishes. On the CPU the checks would take cores from generation, so they wait for the end.
    TextDoneCallback on_done;
    if (ready && !session.model().device().is_cpu())
      on_done = [&](size_t k, const TextResult& r) { ready(k / per_problem, k % per_problem, r.text); };
    const std::vector<TextResult> results = session.text_generator(true).run(requests, to, {}, on_done);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish();
    // The generation's own speed, apart from loading the model and checking the completions
    // (bench/experiment_seed_bench.sh reads this line).
    int64_t tokens = 0;
    for (const TextResult& r : results) tokens += static_cast<int64_t>(r.tokens.size());
    std::fprintf(stderr, "s0: generated %lld tokens in %.2f s (%.1f tokens/s)\n", static_cast<long long>(tokens),
                 seconds, seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0);
    std::vector<std::vector<std::string>> out(problems.size());
    for (size_t i = 0; i < results.size(); ++i) out[i / per_problem].push_back(results[i].text);
    return out;
  });
}

std::string HarnessRequest::source() const {
  if (!from_model()) return completions;
  return source({adapter, alpha, std::nullopt});
}

std::string HarnessRequest::source(const AdapterArm& arm) const {
  return "model " + model + (arm.adapter.empty() ? "" : " with adapter " + arm.adapter);
}

}  // namespace s0
