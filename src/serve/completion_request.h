#pragma once
// The body of POST /v1/completions and /v1/chat/completions, read and type-checked: every field
// s0 serves, each with the OpenAI API's meaning and default. A wrong type, a value out of range or
// a field asking for something s0 does not do is an ApiError (400) naming the field.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/json.h"
#include "tokenizer/jinja/value.h"

namespace s0::serve {

struct CompletionRequest {
  bool chat = false;
  std::string model;
  std::string prompt;                 // completions: the text, unless prompt_ids
  std::optional<std::vector<int64_t>> prompt_ids;  // completions: a prompt given as token ids
  jinja::OrderedJson messages;        // chat: [{role, content}, ...]
  std::optional<bool> enable_thinking;  // chat: chat_template_kwargs.enable_thinking
  std::optional<int64_t> max_tokens;  // absent: the endpoint's default (see the server)
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;                  // 0 = all (-1, vLLM's spelling, is read as 0)
  std::optional<uint64_t> seed;       // absent: a fresh random seed
  std::vector<std::string> stop;
  int64_t n = 1;
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage: a last chunk with usage
};

// `body` is the parsed request body (any JSON value: a non-object is an error too).
CompletionRequest parse_completion_request(const Json& body, bool chat);

}  // namespace s0::serve
