// `s0 demo`: the whole idea in a minute, with nothing to download. Writes a small random Qwen3.5
// hybrid model (Hugging Face layout, byte-level tokenizer) to a temporary folder, trains an S0
// adapter on a pattern the random model does not produce ("name:" -> " la la la ..."), through
// the same train_states that `s0 train` runs, then generates from the same prompts without and
// with the adapter. The weights never change: only the recurrent layers' starting state does.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/validators.h"
#include "core/error.h"
#include "generate/model_session.h"
#include "io/adapter_file.h"
#include "io/file.h"
#include "io/json.h"
#include "model/arch/random_qwen35.h"
#include "model/arch/registry.h"
#include "tokenizer/byte_tokenizer.h"
#include "tune/trained_adapter.h"
#include "tune/data.h"
#include "tune/text_examples.h"
#include "tune/trainer.h"

namespace s0::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCompletion = " la la la la";
const std::vector<std::string> kTrainNames = {"ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen",
                                              "yak", "jay", "kiwi", "lion", "mole", "newt", "orca", "puma"};
const std::vector<std::string> kShowNames = {"owl", "emu", "crab", "wolf"};

// The demo model: the tiny shape with slow-decaying GatedDeltaNet heads, so a starting state is
// remembered across the whole completion.
Qwen35Dims demo_dims() {
  Qwen35Dims d = tiny_qwen35_dims(kByteTokenizerEos + 1, kByteTokenizerEos);
  d.max_positions = 4096;
  d.init_std = 0.1f;
  d.a_log_min = -5.0f;
  d.a_log_max = -2.0f;
  return d;
}

fs::path make_temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "s0-demo-XXXXXX").string();
  if (!mkdtemp(pattern.data())) fail("cannot create a temporary folder under ", fs::temp_directory_path().string());
  return pattern;
}

// Completions quoted and escaped to ASCII, so that spaces and the odd bytes of the untrained model
// stay visible and the columns line up.
std::string quoted(const std::string& s) { return Json(s).dump(-1, ' ', /*ensure_ascii=*/true); }

Runner setup(CLI::App& app) {
  struct Options {
    int steps = 40;
    double lr = 0.05;
    int64_t max_new_tokens = 12;
    std::string keep;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--steps", o->steps, "training steps")->capture_default_str()->check(at_least(1));
  app.add_option("--lr", o->lr, "Adam learning rate for the states")->capture_default_str()->check(greater_than(0));
  app.add_option("--max-new-tokens", o->max_new_tokens, "tokens generated per prompt")->capture_default_str()
      ->check(at_least(1));
  app.add_option("--keep", o->keep, "write the model, data and adapter to this folder and keep them");
  return [o] {
    const bool temporary = o->keep.empty();
    const fs::path dir = temporary ? make_temp_dir() : fs::path(o->keep);
    struct Cleanup {
      fs::path dir;
      bool on;
      ~Cleanup() {
        std::error_code ec;
        if (on) fs::remove_all(dir, ec);
      }
    } cleanup{dir, temporary};
    const fs::path model_dir = dir / "model", data = dir / "train.jsonl", adapter_dir = dir / "adapter";

    write_random_qwen35(model_dir, demo_dims());
    write_byte_tokenizer(model_dir);
    std::string lines;
    for (const std::string& n : kTrainNames)
      lines += Json{{"prompt", n + ":"}, {"completion", kCompletion}}.dump() + "\n";
    write_file_atomic(data, lines);
    std::printf("s0 demo: a random Qwen3.5-style hybrid model (3 GatedDeltaNet + 1 attention layers) in %s\n",
                model_dir.c_str());
    std::printf("training an S0 adapter on %zu examples \"<animal>:\" -> \"%s\"; weights stay frozen\n",
                kTrainNames.size(), kCompletion);

    const HybridModel model = load_model(model_dir);
    const LoadedData examples = load_training_data(data, model.vocab, 2048, text_example_tokenizer(model_dir));
    TrainConfig cfg;
    cfg.n_steps = o->steps;
    cfg.lr = o->lr;
    cfg.alpha = 1.0;  // generate from exactly the states that were trained
    TrainOptions opt;
    opt.layers = parse_layer_selection("all", model);
    const TrainResult trained =
        train_states(model, examples.examples, cfg, opt, [&](const StepReport& r, const StateSet&, const AdamState&) {
          std::printf("  step %3d/%d  loss %.4f\n", r.step, cfg.n_steps, r.mean_loss);
          std::fflush(stdout);
        });
    if (trained.stopped_non_finite) fail(trained.stop_reason);
    write_adapter(adapter_dir, make_adapter_file(model, trained, cfg), /*overwrite=*/true);

    ModelSession session(model_dir);
    TextOptions to;
    to.generation.max_new_tokens = o->max_new_tokens;
    to.generation.eos_ids = session.eos_ids();
    const StateSet* adapter = session.adapters().get(adapter_dir.string());
    std::vector<TextRequest> requests;
    for (const StateSet* initial : {static_cast<const StateSet*>(nullptr), adapter})
      for (const std::string& n : kShowNames) requests.push_back({n + ":", initial});
    const std::vector<TextResult> out = session.text_generator(false).run(requests, to);

    std::printf("\ngreedy completions of prompts not in the training set (same model, same weights):\n");
    std::printf("  %-8s %-50s %s\n", "prompt", "without adapter", "with adapter");
    const size_t n = kShowNames.size();
    for (size_t i = 0; i < n; ++i)
      std::printf("  %-8s %-50s %s\n", quoted(kShowNames[i] + ":").c_str(), quoted(out[i].text).c_str(),
                  quoted(out[n + i].text).c_str());
    std::printf("\nthe adapter is %lld numbers (one starting state per GatedDeltaNet layer)%s\n",
                static_cast<long long>(model.state_parameter_count()),
                temporary ? "" : (", kept in " + adapter_dir.string()).c_str());
    return 0;
  };
}

S0_COMMAND("demo", "train an S0 adapter on a small random model and generate with and without it (no download)",
           setup);

}  // namespace
}  // namespace s0::cli
