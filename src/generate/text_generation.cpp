#include "generate/text_generation.h"

#include <algorithm>

#include "core/error.h"
#include "generate/text_stream.h"
#include "tokenizer/jinja/template.h"

namespace s0 {

std::vector<int64_t> TextGenerator::encode_prompt(const std::string& prompt, const TextOptions& o) const {
  if (o.chat) {
    jinja::OrderedJson messages = jinja::OrderedJson::array();
    messages.push_back({{"role", "user"}, {"content", prompt}});
    return encode_chat(messages, o.enable_thinking);
  }
  const std::vector<int32_t> ids = tokenizer_.encode(prompt, true);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<int64_t> TextGenerator::encode_chat(const jinja::OrderedJson& messages,
                                                std::optional<bool> enable_thinking) const {
  if (!template_) fail("chat prompts need the model's chat template");
  // The template writes the special tokens as text; encoding must not add more.
  const std::vector<int32_t> ids = tokenizer_.encode(template_->render(messages, true, enable_thinking), false);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<TextResult> TextGenerator::run(const std::vector<TextRequest>& requests, const TextOptions& o,
                                           const TextCallback& on_text, const TextDoneCallback& on_done) const {
  validate_stop_strings(o.stop);
  std::vector<GenerationRequest> token_requests;
  std::vector<TextResult> results(requests.size());
  std::vector<TextStream> streams;
  for (size_t i = 0; i < requests.size(); ++i) {
    token_requests.push_back(
        {encode_prompt(requests[i].prompt, o), requests[i].initial, requests[i].stream.value_or(i), requests[i].seed});
    results[i].prompt_tokens = static_cast<int64_t>(token_requests.back().prompt.size());
    TextStream::PieceCallback on_piece;
    if (on_text) on_piece = [&on_text, i](const std::string& piece) { on_text(i, piece); };
    streams.emplace_back(tokenizer_, o.stop, on_piece);
  }
  GenerationOptions go = o.generation;
  go.on_finish = [&](size_t i, const Generation& g) {
    streams[i].finish();
    results[i].text = streams[i].text();
    results[i].tokens = g.tokens;
    results[i].finish = g.finish;
    if (o.generation.on_finish) o.generation.on_finish(i, g);
    if (on_done) on_done(i, results[i]);
  };
  generate(model_, token_requests, go, [&](size_t i, int64_t token) { return streams[i].push(token); });
  return results;
}

}  // namespace s0
