#include "experiment/train_run.h"

#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include "core/progress.h"
#include "ops/device_runtime.h"
#include "core/error.h"
#include "io/adapter_file.h"
#include "io/jsonl_log.h"
#include "io/output_lock.h"
#include "io/output_path.h"
#include "model/arch/registry.h"
#include "model/model_on_device.h"
#include "io/background_writes.h"
#include "tune/data.h"
#include "tune/optimizer_file.h"
#include "tune/resume.h"
#include "tune/text_examples.h"
#include "tune/trained_adapter.h"

namespace s0 {

TrainResult run_training(const TrainRequest& a) {
  // Before anything slow: the output must not be an input, nor anything but an adapter folder,
  // and no other s0 process may be writing it (the lock is held until the run ends).
  const std::filesystem::path out = normalize_output_path(a.out);
  refuse_overlap({"--out", out}, {{"--model", a.model}, {"--data", a.data}});
  if (!a.log_jsonl.empty())
    refuse_overlap({"--log-jsonl", normalize_output_path(a.log_jsonl)},
                   {{"--model", a.model}, {"--data", a.data}, {"--out", out}});
  if (a.resume && a.force) fail("--resume continues the run in --out and --force replaces it: pass one");
  if (a.resume && !std::filesystem::exists(out)) fail("--resume: ", out.string(), ": no adapter folder to resume");
  check_adapter_output(out, a.force || a.resume);
  const OutputLock lock = OutputLock::acquire(out);
  std::optional<HybridModel> own;
  const HybridModel& model =
      a.loaded ? *a.loaded : own.emplace(load_model_on(a.model, ops::activated_device(a.device), matrix_dtype(a.dtype)));
  if (model.recurrent.empty()) fail(a.model, ": the model has no recurrent layers to train");
  TrainOptions opt;
  opt.layers = parse_layer_selection(a.layers, model);
  // On a GPU the whole tape of a batch is kept unless --recompute: 2560 tokens is the fastest
  // measured within 40 GB of tensors at the Qwen3.5-4B shape since the tape keeps the gated delta
  // rule's chunk preparation (bench/gpu_train_bench on an H200: 1.11 s a step, 36.6 GiB at most in
  // use; 3072 tokens 1.07 s and 41.9 GiB; 2048 1.15 s and 30.0 GiB).
  opt.max_batch_tokens = a.batch_tokens > 0 ? a.batch_tokens : model.device().is_cpu() ? 16384 : 2560;
  opt.recompute = a.recompute;
  LoadedData data =
      load_training_data(a.data, model.vocab, a.cfg.max_length, text_example_tokenizer(a.model, a.tokenizer));
  for (const std::string& w : data.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::shuffle(data.examples.begin(), data.examples.end(), std::mt19937_64(a.seed));
  std::optional<TrainResume> resume;
  if (a.resume) {
    resume = resume_run(out, model, a.cfg, opt.layers, data.examples);
    opt.resume = &*resume;
  } else {
    std::filesystem::remove(out / kOptimizerFile);  // a replaced run's optimizer is not this run's
  }
  const std::string data_digest = examples_digest(data.examples);
  JsonLinesLog log(a.log_jsonl);
  int64_t tokens = 0;
  for (const auto& e : data.examples) tokens += static_cast<int64_t>(e.ids.size());
  std::printf("training %zu layers of %s on %zu examples (%lld tokens), %d steps\n", opt.layers.size(),
              model.architecture.c_str(), data.examples.size(), static_cast<long long>(tokens), a.cfg.n_steps);
  std::fflush(stdout);

  const int first_step = resume ? resume->adam.t + 1 : 1;
  Progress progress("train", "steps", a.cfg.n_steps - first_step + 1, progress_options(a.quiet));
  double total = 0;
  BackgroundWrites writes;
  auto on_step = [&](const StepReport& rep, const StateSet& states, const AdamState& adam) {
    total += rep.seconds;
    std::printf("step %3d/%d  loss %.4f  state norm %.4f  grad norm %.3g  %.2f s\n", rep.step, a.cfg.n_steps,
                rep.mean_loss, rep.mean_state_norm, rep.grad_norm, rep.seconds);
    std::fflush(stdout);
    // The last good states are always on disk, then the optimizer that continues from them: the
    // step's files are written while the next step computes, from the trainer's own states and
    // moments (at the 4B shape about 250 MB, too much to copy each step), which the trainer leaves
    // alone until the write is done (before_states_change below); the run waits for the last
    // write before it reports anything.
    TrainResult step_states;
    step_states.layers = opt.layers;
    step_states.states = states;  // shares the tensors' storage
    writes.start([&model, &out, &a, &opt, &data_digest, step_states = std::move(step_states), &adam] {
      write_adapter(out, make_adapter_file(model, step_states, a.cfg), /*overwrite=*/true);
      write_optimizer(out, adam, opt.layers, trained_states_digest(model, step_states.states, opt.layers), data_digest);
    });
    Json layer_norms = Json::object();
    for (size_t i = 0; i < rep.state_norms.size(); ++i) layer_norms[std::to_string(opt.layers[i])] = rep.state_norms[i];
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
  opt.before_states_change = [&writes] { writes.wait(); };
  TrainResult r = train_states(model, data.examples, a.cfg, opt, on_step);
  writes.wait();
  progress.finish();
  if (r.stopped_non_finite)
    fail(r.stop_reason, r.steps.empty() ? "; nothing was written"
                                        : "; the states after step " + std::to_string(r.steps.size()) +
                                              " (the last finite ones) are in " + a.out);
  if (r.steps.empty()) fail("internal: training took no step");
  std::printf("done: loss %.4f -> %.4f over %zu steps in %.1f s; adapter written to %s\n", r.steps.front().mean_loss,
              r.steps.back().mean_loss, r.steps.size(), total, a.out.c_str());
  return r;
}

}  // namespace s0
