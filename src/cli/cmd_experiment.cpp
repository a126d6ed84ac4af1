// `s0 experiment`: the paper's experiment (collect, train, evaluate over seeds; sweeps; report) in
// one command; see experiment/experiment.h and docs/experiment.md.
#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/generation_flags.h"
#include "cli/harness_options.h"
#include "cli/model_folder.h"
#include "cli/quiet_flag.h"
#include "cli/validators.h"
#include "eval/executor.h"
#include "experiment/experiment.h"

namespace s0::cli {
namespace {

struct ExperimentArgs : ExperimentOptions {
  std::vector<std::string> variant_names = {"s0"};
};

Runner setup(CLI::App& app) {
  auto o = std::make_shared<ExperimentArgs>();
  add_model_option(app, o->model, "the base model (Hugging Face folder)")->required();
  app.add_option("--benchmark", o->benchmark, "humaneval, gsm8k or math500")->required();
  app.add_option("--data", o->data,
                 "the benchmark's JSON lines file; its train split is sampled for training data, and its eval "
                 "split is evaluated unless --eval-data is given")
      ->required();
  app.add_option("--eval-data", o->eval_data, "the file whose eval split is evaluated (GSM8K: gsm8k_test.jsonl)");
  app.add_option("--out", o->out, "the experiment's folder: every stage's output, report.md and the charts")
      ->required();
  app.add_option("--seeds", o->seeds, "seeds 1..N: each samples its own training data and trains its own adapters")
      ->capture_default_str()->check(between(1, 1000));
  app.add_option("--samples", o->samples,
                 "completions sampled per training problem (default: the paper's, 16 for humaneval, 4 otherwise)")
      ->check(between(1, 1000));
  app.add_option("--layers", o->layers,
                 "a layer subset to train: all, early, middle, late or a list like 0-7,12; repeat the flag for "
                 "a layer table, one row per subset and variant (the first subset is each variant's main "
                 "configuration)")
      ->capture_default_str();
  app.add_option("--variant", o->variant_names,
                 "what to train, as `s0 train --variant`: s0 (the initial states) or state-offset (the per-step "
                 "offset the paper compares with); repeat the flag to train both on every subset and seed, each "
                 "variant's first subset being its main configuration")
      ->capture_default_str();
  app.add_option("--alphas", o->alphas,
                 "comma list of alphas at which each variant's main-subset adapters are also evaluated (an alpha "
                 "table)")
      ->delimiter(',')->check(greater_than(0));
  app.add_option("--pass-k", o->pass_k,
                 "also evaluate the base model and each variant's main-subset adapters with this many samples per "
                 "problem (the paper's sampling) for pass@1, pass@5 and pass@10 where that many samples exist; 0: "
                 "greedy only")
      ->capture_default_str()->check(between(0, 1000));
  app.add_option("--steps", o->steps, "training steps per adapter")->capture_default_str()->check(at_least(1));
  app.add_option("--lr", o->lr, "Adam learning rate")->capture_default_str()->check(greater_than(0));
  app.add_option("--max-new-tokens", o->max_new_tokens, "tokens generated at most per completion")
      ->capture_default_str()->check(at_least(1));
  add_batch_option(app, o->batch);
  add_eager_flag(app, o->eager);
  add_cache_dtype_options(app, o->cache_dtypes);
  app.add_option("--workers", o->workers, "programs run in parallel (default: one per core)");
  app.add_option("--timeout", o->timeout, "wall-clock seconds per HumanEval program")->capture_default_str()
      ->check(between(0.01, kMaxProgramSeconds));
  app.add_flag("--unsafe-no-sandbox", o->unsafe,
               "run model-written programs without the bubblewrap sandbox (rlimits and a timeout only)");
  add_device_option(app, o->device, "the model (every stage: generation, training, evaluation)");
  add_dtype_option(app, o->dtype);
  app.add_flag("--resume", o->resume,
               "continue the experiment in --out: stages recorded as done with the same inputs are skipped, a "
               "stopped training run continues from its last step");
  add_quiet_flag(app, o->quiet);
  return [o] {
    o->variants.clear();
    for (const std::string& name : o->variant_names) o->variants.push_back(parse_variant(name, "--variant"));
    run_experiment(*o);
    return 0;
  };
}

S0_COMMAND("experiment", "collect, train and evaluate over seeds and write a report (the paper's experiment)", setup);

}  // namespace
}  // namespace s0::cli
