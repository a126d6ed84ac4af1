// s0 train: learn the initial states of a model's recurrent layers from JSON-lines examples and write
// an adapter folder in the s0-tuning library's format.
#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/model_folder.h"
#include "cli/quiet_flag.h"
#include "cli/validators.h"
#include "experiment/train_run.h"

namespace {

struct TrainArgs : s0::TrainRequest {
  std::string variant = "s0";
  double alpha = -1;  // the flag; unset leaves the config's alpha null (the family default)
};

s0::cli::Runner setup(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  s0::cli::add_model_option(app, a->model, "Hugging Face model folder")->required();
  app.add_option("--data", a->data,
                 "training examples, JSON lines: {\"prompt\": ..., \"completion\": ...} or {\"ids\": [...], "
                 "\"prompt_len\": n}; prompt tokens are masked from the loss")
      ->required();
  app.add_option("--out", a->out,
                 "adapter folder to write (states.safetensors, config.json, meta.json), rewritten after every "
                 "step; no other s0 process may write it during the run")
      ->required();
  app.add_option("--steps", a->cfg.n_steps, "optimizer steps, each over every example")->capture_default_str()
      ->check(s0::cli::at_least(1));
  app.add_option("--lr", a->cfg.lr, "Adam learning rate")->capture_default_str()->check(s0::cli::greater_than(0));
  app.add_option("--l2", a->cfg.l2_lambda, "L2 penalty on sum(S0^2)")->capture_default_str()
      ->check(s0::cli::at_least(0));
  app.add_option("--grad-clip", a->cfg.grad_clip, "total-norm gradient clipping (0 disables)")
      ->capture_default_str()->check(s0::cli::at_least(0));
  app.add_option("--max-length", a->cfg.max_length, "longer examples are truncated, with a warning")
      ->capture_default_str()->check(s0::cli::at_least(1));
  app.add_option("--alpha", a->alpha,
                 "scale applied when the adapter is activated (default: by family, GatedDeltaNet 0.07, Mamba-2 0.65)")
      ->check(s0::cli::greater_than(0));
  app.add_flag("--normalize", a->cfg.normalize, "scale each state to unit norm before alpha at activation");
  app.add_option("--variant", a->variant,
                 "s0: learn each recurrent layer's initial state (no inference cost); state-offset: learn a "
                 "state-shaped offset whose read-out is added at every token (Kang et al. 2025, the paper's "
                 "comparison; per-token cost, not loadable by the s0-tuning library)")
      ->capture_default_str();
  app.add_option("--layers", a->layers, "recurrent layers to train: all, early, middle or late (thirds of the recurrent layers), or a list of layers and ranges like 0-7,12")
      ->capture_default_str();
  app.add_option("--seed", a->seed,
                 "orders the examples within each step's batches (training from zeros is otherwise deterministic)")
      ->capture_default_str();
  app.add_option("--batch-tokens", a->batch_tokens,
                 "tokens per packed batch, which bounds the memory (default: 16384 on the CPU; 2560 on a GPU, where "
                 "a 4B model's tapes and weights then take about 37 GiB); examples are packed into the fewest batches "
                 "first-fit finds, and the value changes only the order the examples' gradients are added in (float "
                 "rounding)")
      ->check(s0::cli::at_least(1));
  s0::cli::add_device_option(app, a->device, "the forward and backward run (the states and Adam stay on the host)");
  s0::cli::add_dtype_option(app, a->dtype);
  app.add_flag("--recompute", a->recompute, "recompute each layer's activations in the backward (less memory)");
  app.add_flag("--resume", a->resume,
               "continue the run whose adapter is in --out (from the optimizer.safetensors saved beside it) up to "
               "--steps in all; the other flags and the data must be the run's own");
  app.add_option("--log-jsonl", a->log_jsonl,
                 "append one JSON line per step to this file: step, loss, objective, grad_norm, state_norm (mean), "
                 "state_norms (per trained layer, keyed by layer), seconds, tokens_per_s");
  app.add_flag("--force", a->force,
               "replace the adapter in --out if there is one (only its states.safetensors, config.json and "
               "meta.json; a folder holding anything else is never replaced)");
  s0::cli::add_quiet_flag(app, a->quiet);
  return [a] {
    if (a->alpha > 0) a->cfg.alpha = a->alpha;
    a->cfg.variant = s0::parse_variant(a->variant, "--variant");
    s0::run_training(*a);
    return 0;
  };
}

S0_COMMAND("train", "learn initial recurrent states (S0) from examples and write an adapter", setup);

}  // namespace
