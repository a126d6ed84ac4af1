#pragma once
// `s0 experiment`: the paper's experiment in one call. Per seed: sample completions of the training
// split from the base model, keep one verified completion per problem (collect), train an adapter
// per variant and layer subset. Then evaluate the base model once and every adapter greedily on the
// evaluation split (at the family's alpha and at each swept alpha), and sampled for --pass-k; then
// report.md and its charts. Every seed's collection is generated in one pass of the model, and so
// are the greedy evaluations, and the sampled ones. Every stage is a
// file in the out folder, recorded with what it was made from (experiment/experiment_ledger.h), so that
// --resume continues where a run stopped. Each stage calls the code its own command runs.
#include <optional>
#include <string>
#include <vector>

#include "core/adapter_variant.h"
#include "eval/dataset.h"
#include "eval/humaneval.h"
#include "model/cache.h"

namespace s0 {

struct ExperimentOptions {
  std::string model, benchmark, data, eval_data, out;
  int seeds = 3;
  std::optional<int64_t> samples;  // per training problem; unset: the paper's for the benchmark
  // One adapter per variant, subset and seed. Each variant's first subset is its main configuration,
  // which the alpha sweep, pass@k and the charts cover; the first variant's is the report's first row.
  std::vector<AdapterVariant> variants = {AdapterVariant::s0};
  std::vector<std::string> layers = {"all"};
  std::vector<double> alphas;  // extra evaluations of the main configurations' adapters
  int64_t pass_k = 0;  // > 0: also pass@k from this many samples per evaluation problem (main configurations)
  int steps = 20;
  double lr = 1e-3;
  int64_t max_new_tokens = 512;
  std::optional<int64_t> batch;  // unset: by device and memory (generate/generation_batch.h)
  bool eager = false;             // GenerationSettings::eager
  CacheDtypes cache_dtypes;       // GenerationSettings::cache_dtypes
  std::optional<int> workers;
  double timeout = kHumanEvalSeconds;
  bool unsafe = false, resume = false;
  bool quiet = false;  // no progress on stderr from any stage
  std::string device, dtype;
};

void run_experiment(const ExperimentOptions& options);

}  // namespace s0
