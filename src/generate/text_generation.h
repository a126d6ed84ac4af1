#pragma once
// Generation from text: prompts through the tokenizer (and optionally the chat template), stop
// strings, streaming of decoded text, and the completions as text. The token-level work is
// generate() in generator.h.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace s0 {

struct TextRequest {
  std::string prompt;
  const StateSet* initial = nullptr;  // activated adapter or null
  // The sampling seed and stream (generator.h's GenerationRequest); unset: the options' seed, and
  // the request's index in the run.
  std::optional<uint64_t> seed{}, stream{};
};

struct TextOptions {
  GenerationOptions generation;    // eos_ids are usually model_eos_ids()
  std::vector<std::string> stop;   // generation ends at the first of these; it is not part of the text
  bool chat = false;               // render each prompt as one user message through the chat template
  std::optional<bool> enable_thinking;  // passed to the chat template when set
};

struct TextResult {
  std::string text;
  std::vector<int64_t> tokens;
  FinishReason finish = FinishReason::length;
  int64_t prompt_tokens = 0;
};

// Receives finished pieces of request `index`'s text, in order; together they are its final text
// (see TextStream).
using TextCallback = std::function<void(size_t index, const std::string& piece)>;
// Receives request `index`'s result as soon as it is final, before the others finish.
using TextDoneCallback = std::function<void(size_t index, const TextResult& result)>;

class TextGenerator {
 public:
  // `chat_template` is needed only for TextOptions::chat.
  TextGenerator(const HybridModel& model, const Tokenizer& tokenizer, const ChatTemplate* chat_template = nullptr)
      : model_(model), tokenizer_(tokenizer), template_(chat_template) {}
  // The token ids a prompt is generated from.
  std::vector<int64_t> encode_prompt(const std::string& prompt, const TextOptions& options) const;
  // The token ids of a conversation (an array of {role, content}) through the chat template, with
  // the generation prompt added.
  std::vector<int64_t> encode_chat(const jinja::OrderedJson& messages, std::optional<bool> enable_thinking) const;
  std::vector<TextResult> run(const std::vector<TextRequest>& requests, const TextOptions& options,
                              const TextCallback& on_text = {}, const TextDoneCallback& on_done = {}) const;

 private:
  const HybridModel& model_;
  const Tokenizer& tokenizer_;
  const ChatTemplate* template_;
};

}  // namespace s0
