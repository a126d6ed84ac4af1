// s0 train: learn the initial states of a model's recurrent layers from JSON-lines examples and write
// an adapter folder in the s0-tuning library's format.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/model_folder.h"
#include "cli/quiet_flag.h"
#include "cli/validators.h"
#include "core/error.h"
#include "io/adapter_file.h"
#include "io/jsonl_log.h"
#include "io/output_lock.h"
#include "io/output_path.h"
#include "model/arch/registry.h"
#include "model/model_on_device.h"
#include "tune/data.h"
#include "tune/optimizer_file.h"
#include "tune/resume.h"
#include "tune/text_examples.h"
#include "tune/trained_adapter.h"
#include "tune/trainer.h"

namespace {

struct TrainArgs {
  std::string model, data, out, layers = "all", device, dtype, variant = "s0";
  s0::TrainConfig cfg;
  double alpha = -1;
  uint64_t seed = 0;
  int64_t batch_tokens = 0;  // 0: by device (below)
  bool recompute = false, force = false, resume = false, quiet = false;
  std::string log_jsonl;
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
                 "comparison; per-token cost, CPU only, not loadable by the s0-tuning library)")
      ->capture_default_str();
  app.add_option("--layers", a->layers, "recurrent layers to train: all, or a list of layers and ranges like 0-7,12")
      ->capture_default_str();
  app.add_option("--seed", a->seed,
                 "orders the examples within each step's batches (training from zeros is otherwise deterministic)")
      ->capture_default_str();
  app.add_option("--batch-tokens", a->batch_tokens,
                 "tokens per packed batch, which bounds the memory (default: 16384 on the CPU; 4096 on a GPU, where "
                 "a 4B model's tape for 4096 tokens takes about 32 GB; the result does not depend on it)")
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
    // Before anything slow: the output must not be an input, nor anything but an adapter folder,
    // and no other s0 process may be writing it (the lock is held until the run ends).
    const std::filesystem::path out = s0::normalize_output_path(a->out);
    s0::refuse_overlap({"--out", out}, {{"--model", a->model}, {"--data", a->data}});
    if (!a->log_jsonl.empty())
      s0::refuse_overlap({"--log-jsonl", s0::normalize_output_path(a->log_jsonl)},
                         {{"--model", a->model}, {"--data", a->data}, {"--out", out}});
    if (a->resume && a->force) s0::fail("--resume continues the run in --out and --force replaces it: pass one");
    if (a->resume && !std::filesystem::exists(out)) s0::fail("--resume: ", out.string(), ": no adapter folder to resume");
    s0::check_adapter_output(out, a->force || a->resume);
    const s0::OutputLock lock = s0::OutputLock::acquire(out);
    if (a->alpha > 0) a->cfg.alpha = a->alpha;
    a->cfg.variant = s0::parse_variant(a->variant, "--variant");
    // The state offset has no CUDA kernel yet: it defaults to the CPU and refuses a GPU.
    const bool cpu_only = a->cfg.variant == s0::AdapterVariant::state_offset;
    const s0::Device device =
        cpu_only && a->device.empty() ? s0::Device::cpu() : s0::cli::activated_device(a->device);
    if (cpu_only && !device.is_cpu())
      s0::fail("--variant state-offset runs on the CPU only (no CUDA kernel for the per-token offset yet): "
               "use --device cpu");
    const s0::HybridModel model =
        s0::load_model_on(a->model, device, s0::cli::matrix_dtype(a->dtype));
    if (model.recurrent.empty()) s0::fail(a->model, ": the model has no recurrent layers to train");
    s0::TrainOptions opt;
    opt.layers = s0::parse_layer_selection(a->layers, model);
    // On a GPU the whole tape of a batch is kept unless --recompute: 4096 tokens measured fastest
    // within 40 GB at the Qwen3.5-4B shape (bench/gpu_train_bench: 2.21 s a step against 2.83 s
    // with recomputation at 16384, on an H200).
    opt.max_batch_tokens = a->batch_tokens > 0 ? a->batch_tokens : model.device().is_cpu() ? 16384 : 4096;
    opt.recompute = a->recompute;
    s0::LoadedData data =
        s0::load_training_data(a->data, model.vocab, a->cfg.max_length, s0::text_example_tokenizer(a->model));
    for (const std::string& w : data.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::shuffle(data.examples.begin(), data.examples.end(), std::mt19937_64(a->seed));
    std::optional<s0::TrainResume> resume;
    if (a->resume) {
      resume = s0::resume_run(out, model, a->cfg, opt.layers, data.examples);
      opt.resume = &*resume;
    } else {
      std::filesystem::remove(out / s0::kOptimizerFile);  // a replaced run's optimizer is not this run's
    }
    const std::string data_digest = s0::examples_digest(data.examples);
    s0::JsonLinesLog log(a->log_jsonl);
    int64_t tokens = 0;
    for (const auto& e : data.examples) tokens += static_cast<int64_t>(e.ids.size());
    std::printf("training %zu layers of %s on %zu examples (%lld tokens), %d steps\n", opt.layers.size(),
                model.architecture.c_str(), data.examples.size(), static_cast<long long>(tokens), a->cfg.n_steps);
    std::fflush(stdout);

    const int first_step = resume ? resume->adam.t + 1 : 1;
    s0::Progress progress("train", "steps", a->cfg.n_steps - first_step + 1, s0::cli::progress_options(a->quiet));
    double total = 0;
    s0::TrainResult partial;
    partial.layers = opt.layers;
    auto save = [&](const s0::StateSet& states) {
      partial.states = states;
      s0::write_adapter(out, s0::make_adapter_file(model, partial, a->cfg), /*overwrite=*/true);
    };
    auto on_step = [&](const s0::StepReport& rep, const s0::StateSet& states, const s0::AdamState& adam) {
      total += rep.seconds;
      std::printf("step %3d/%d  loss %.4f  state norm %.4f  grad norm %.3g  %.2f s\n", rep.step, a->cfg.n_steps,
                  rep.mean_loss, rep.mean_state_norm, rep.grad_norm, rep.seconds);
      std::fflush(stdout);
      // The last good states are always on disk, then the optimizer that continues from them.
      save(states);
      s0::write_optimizer(out, adam, opt.layers, s0::trained_states_digest(model, states, opt.layers), data_digest);
      s0::Json layer_norms = s0::Json::object();
      for (size_t i = 0; i < rep.state_norms.size(); ++i)
        layer_norms[std::to_string(opt.layers[i])] = rep.state_norms[i];
      log.append({{"step", rep.step},
                  {"loss", rep.mean_loss},
                  {"objective", rep.objective},
                  {"grad_norm", rep.grad_norm},
                  {"state_norm", rep.mean_state_norm},
                  {"state_norms", layer_norms},
                  {"seconds", rep.seconds},
                  {"tokens_per_s", static_cast<double>(tokens) / rep.seconds}});
      progress.advance();
    };
    s0::TrainResult r = s0::train_states(model, data.examples, a->cfg, opt, on_step);
    progress.finish();
    if (r.stopped_non_finite)
      s0::fail(r.stop_reason, r.steps.empty() ? "; nothing was written"
                                              : "; the states after step " + std::to_string(r.steps.size()) +
                                                    " (the last finite ones) are in " + a->out);
    if (r.steps.empty()) s0::fail("internal: training took no step");
    std::printf("done: loss %.4f -> %.4f over %zu steps in %.1f s; adapter written to %s\n", r.steps.front().mean_loss,
                r.steps.back().mean_loss, r.steps.size(), total, a->out.c_str());
    return 0;
  };
}

S0_COMMAND("train", "learn initial recurrent states (S0) from examples and write an adapter", setup);

}  // namespace
