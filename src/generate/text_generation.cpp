#include "generate/text_generation.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/jinja/template.h"

namespace s0 {

std::vector<int64_t> TextGenerator::encode_prompt(const std::string& prompt, const TextOptions& o) const {
  std::vector<int32_t> ids;
  if (o.chat) {
    if (!template_) fail("chat prompts need the model's chat template");
    jinja::OrderedJson messages = jinja::OrderedJson::array();
    messages.push_back({{"role", "user"}, {"content", prompt}});
    // The template writes the special tokens as text; encoding must not add more.
    ids = tokenizer_.encode(template_->render(messages, true, o.enable_thinking), false);
  } else {
    ids = tokenizer_.encode(prompt, true);
  }
  return std::vector<int64_t>(ids.begin(), ids.end());
}

namespace {
// One sequence's text as it streams: decoded pieces, the stop-string search, what is safe to emit.
struct TextState {
  std::string text;
  size_t emitted = 0;
  bool stopped = false;
};
}  // namespace

std::vector<TextResult> TextGenerator::run(const std::vector<TextRequest>& requests, const TextOptions& o,
                                           const TextCallback& on_text) const {
  for (const std::string& s : o.stop)
    if (s.empty()) fail("a stop string must not be empty");
  size_t hold = 0;  // a stop string may still be completing in the last (longest - 1) bytes
  for (const std::string& s : o.stop) hold = std::max(hold, s.size() - 1);

  std::vector<GenerationRequest> token_requests;
  std::vector<TextResult> results(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    token_requests.push_back({encode_prompt(requests[i].prompt, o), requests[i].initial, i});
    results[i].prompt_tokens = static_cast<int64_t>(token_requests.back().prompt.size());
  }
  std::vector<DecodeStream> streams;
  for (size_t i = 0; i < requests.size(); ++i) streams.emplace_back(tokenizer_);
  std::vector<TextState> state(requests.size());

  auto emit = [&](size_t i, size_t upto) {
    TextState& st = state[i];
    if (upto > st.emitted && on_text) on_text(i, st.text.substr(st.emitted, upto - st.emitted));
    st.emitted = std::max(st.emitted, upto);
  };
  // Appends a decoded piece; true when a stop string completed (the text is then cut before it).
  auto append = [&](size_t i, const std::string& piece) {
    TextState& st = state[i];
    const size_t from = st.text.size() > hold ? st.text.size() - hold : 0;
    st.text += piece;
    size_t cut = std::string::npos;
    for (const std::string& s : o.stop) cut = std::min(cut, st.text.find(s, from));
    if (cut != std::string::npos) {
      st.text.resize(cut);
      st.stopped = true;
      emit(i, st.text.size());
      return true;
    }
    emit(i, st.text.size() > hold ? st.text.size() - hold : 0);
    return false;
  };

  const std::vector<Generation> gens =
      generate(model_, token_requests, o.generation,
               [&](size_t i, int64_t token) { return append(i, streams[i].step(static_cast<int32_t>(token))); });
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!state[i].stopped) append(i, streams[i].finish());
    emit(i, state[i].text.size());
    results[i].text = state[i].text;
    results[i].tokens = gens[i].tokens;
    results[i].finish = gens[i].finish;
  }
  return results;
}

}  // namespace s0
