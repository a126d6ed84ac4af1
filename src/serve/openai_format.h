#pragma once
// The JSON objects of the OpenAI completions API that s0 serve answers with: whole responses,
// streamed chunks, usage and the model list.
#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"
#include "serve/adapter_registry.h"

namespace s0::serve {

// What every object of one response shares.
struct ResponseHead {
  bool chat = false;
  std::string id;  // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;  // seconds since the epoch
  std::string model;
};

struct ChoiceResult {
  std::string text;
  std::string finish_reason;
};

Json usage_json(int64_t prompt_tokens, int64_t completion_tokens);
Json completion_response(const ResponseHead& head, const std::vector<ChoiceResult>& choices, int64_t prompt_tokens,
                         int64_t completion_tokens);
// A streamed chunk for `choice`: a token's piece of text, or (finish_reason set) its end with what
// text was held back to the end. A chat stream opens each choice with a chunk whose delta carries
// the assistant role (`opening`).
Json stream_chunk(const ResponseHead& head, size_t choice, const std::string& text, const std::string& finish_reason,
                  bool opening = false);
// The last streamed chunk when the client asked for usage: no choices, the counts.
Json usage_chunk(const ResponseHead& head, int64_t prompt_tokens, int64_t completion_tokens);
// One server-sent event carrying `data`.
std::string sse_event(const std::string& data);

Json model_list(const std::vector<ServedModel>& models, int64_t created);

}  // namespace s0::serve
