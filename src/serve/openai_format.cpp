#include "serve/openai_format.h"

namespace s0::serve {

namespace {
Json head_json(const ResponseHead& h, const char* completion_object, const char* chat_object) {
  return {{"id", h.id}, {"object", h.chat ? chat_object : completion_object}, {"created", h.created}, {"model", h.model}};
}
}  // namespace

Json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

Json completion_response(const ResponseHead& head, const std::vector<ChoiceResult>& choices, int64_t prompt_tokens,
                         int64_t completion_tokens) {
  Json out = head_json(head, "text_completion", "chat.completion");
  out["choices"] = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    Json c = {{"index", i}, {"finish_reason", choices[i].finish_reason}};
    if (head.chat) {
      c["message"] = {{"role", "assistant"}, {"content", choices[i].text}};
    } else {
      c["text"] = choices[i].text;
      c["logprobs"] = nullptr;
    }
    out["choices"].push_back(c);
  }
  out["usage"] = usage_json(prompt_tokens, completion_tokens);
  return out;
}

Json stream_chunk(const ResponseHead& head, size_t choice, const std::string& text, const std::string& finish_reason,
                  bool opening) {
  Json out = head_json(head, "text_completion", "chat.completion.chunk");
  Json c = {{"index", choice}, {"finish_reason", finish_reason.empty() ? Json() : Json(finish_reason)}};
  if (head.chat) {
    Json delta = Json::object();
    if (opening) delta["role"] = "assistant";
    if (opening || !text.empty()) delta["content"] = text;
    c["delta"] = delta;
  } else {
    c["text"] = text;
    c["logprobs"] = nullptr;
  }
  out["choices"] = Json::array({c});
  return out;
}

Json usage_chunk(const ResponseHead& head, int64_t prompt_tokens, int64_t completion_tokens) {
  Json out = head_json(head, "text_completion", "chat.completion.chunk");
  out["choices"] = Json::array();
  out["usage"] = usage_json(prompt_tokens, completion_tokens);
  return out;
}

std::string sse_event(const std::string& data) { return "data: " + data + "\n\n"; }

Json model_list(const std::vector<ServedModel>& models, int64_t created) {
  Json data = Json::array();
  for (const ServedModel& m : models) {
    Json entry = {{"id", m.name}, {"object", "model"}, {"created", created}, {"owned_by", "s0"}};
    // vLLM's convention for adapters: `parent` names the base model; `root` where it came from.
    entry["root"] = m.states ? m.dir : m.name;
    entry["parent"] = m.states ? Json(models.front().name) : Json();
    data.push_back(entry);
  }
  return {{"object", "list"}, {"data", data}};
}

}  // namespace s0::serve
