// `s0 generate`: text from a model, optionally starting its recurrent layers from an adapter. One
// --prompt streams its completion to stdout; --prompts FILE.jsonl writes one JSON line per prompt
// (in file order), each prompt with its own adapter if the line names one.
#include <algorithm>
#include <iostream>
#include <optional>

#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/model_folder.h"
#include "cli/generation_flags.h"
#include "cli/quiet_flag.h"
#include "core/error.h"
#include "generate/model_session.h"
#include "generate/prompt_file.h"
#include "io/json.h"

namespace s0::cli {
namespace {

Runner setup(CLI::App& app) {
  struct Options {
    std::string model, adapter, prompt, prompts, device, dtype;
    std::optional<double> alpha;
    bool chat = false, no_thinking = false, quiet = false;
    std::vector<std::string> stop;
    GenerationFlags flags;
  };
  auto o = std::make_shared<Options>();
  add_model_option(app, o->model, "Hugging Face model folder (config.json, model.safetensors, tokenizer.json)")
      ->required();
  add_adapter_options(app, o->adapter, o->alpha,
                      "S0 adapter every prompt starts from (unless its line names one)");
  auto* one = app.add_option("--prompt", o->prompt, "one prompt; its completion streams to stdout");
  auto* many = app.add_option("--prompts", o->prompts,
                              "JSON lines {\"prompt\": TEXT, \"adapter\": DIR (optional)}; writes one JSON line per "
                              "prompt: {\"index\", \"prompt\", \"adapter\", \"completion\", \"finish_reason\", "
                              "\"prompt_tokens\", \"new_tokens\"}");
  one->excludes(many);
  app.add_flag("--chat", o->chat, "render each prompt as a user message through the model's chat template");
  app.add_flag("--no-thinking", o->no_thinking, "with --chat: enable_thinking = false");
  app.add_option("--stop", o->stop, "stop at this text (repeatable); it is not printed");
  o->flags.declare(app);
  add_device_option(app, o->device, "the model runs and tokens are picked");
  add_dtype_option(app, o->dtype);
  add_quiet_flag(app, o->quiet);
  return [o, one, many] {
    const bool single = one->count() > 0;
    if (!single && many->count() == 0) fail("give --prompt TEXT or --prompts FILE.jsonl");
    if (o->no_thinking && !o->chat) fail("--no-thinking applies to chat prompts: add --chat");
    std::vector<PromptLine> lines =
        single ? std::vector<PromptLine>{{o->prompt, std::nullopt}} : read_prompt_file(o->prompts);
    const bool any_adapter = !o->adapter.empty() || std::any_of(lines.begin(), lines.end(), [](const PromptLine& l) {
                               return l.adapter.has_value();
                             });
    if (o->alpha && !any_adapter) fail("--alpha scales an adapter's states: add --adapter DIR");
    ModelSession session(o->model, activated_device(o->device), matrix_dtype(o->dtype));
    TextOptions to;
    to.generation = o->flags.options(session.eos_ids());
    to.stop = o->stop;
    to.chat = o->chat;
    if (o->no_thinking) to.enable_thinking = false;
    std::vector<TextRequest> requests;
    std::vector<std::string> adapter_of;
    for (const PromptLine& l : lines) {
      const std::string dir = l.adapter.value_or(o->adapter);
      adapter_of.push_back(dir);
      requests.push_back({l.prompt, dir.empty() ? nullptr : session.adapters().get(dir, o->alpha)});
    }
    const TextGenerator gen = session.text_generator(o->chat);
    if (single) {
      gen.run(requests, to, [](size_t, const std::string& piece) { std::cout << piece << std::flush; });
      std::cout << "\n";
      return 0;
    }
    // Many prompts take long: progress on stderr while stdout gets the JSON lines at the end.
    Progress progress("generate", "completions", static_cast<int64_t>(requests.size()), progress_options(o->quiet));
    to.generation.progress = &progress;
    const std::vector<TextResult> results = gen.run(requests, to);
    progress.finish();
    for (size_t i = 0; i < results.size(); ++i) {
      const TextResult& r = results[i];
      Json line = {{"index", i},
                   {"prompt", lines[i].prompt},
                   {"adapter", adapter_of[i].empty() ? Json() : Json(adapter_of[i])},
                   {"completion", r.text},
                   {"finish_reason", finish_reason_name(r.finish)},
                   {"prompt_tokens", r.prompt_tokens},
                   {"new_tokens", r.tokens.size()}};
      std::cout << line.dump() << "\n";
    }
    return 0;
  };
}

S0_COMMAND("generate", "generate text from a model, with or without an S0 adapter per prompt", setup);

}  // namespace
}  // namespace s0::cli
