#pragma once
// A model's chat template: the Jinja source from chat_template.jinja, or else from the
// "chat_template" field of tokenizer_config.json (a string, or a list of {name, template} where
// "default" is used), rendered the way transformers' apply_chat_template does.
//
//   auto tpl = s0::ChatTemplate::load(model_dir);
//   std::string prompt = tpl.render(messages, /*add_generation_prompt=*/true, /*enable_thinking=*/false);
#include <filesystem>
#include <optional>
#include <string>

#include "io/json.h"
#include "tokenizer/jinja/template.h"

namespace s0 {

class ChatTemplate {
 public:
  // Errors name the missing file, or the template position of a syntax error.
  static ChatTemplate load(const std::filesystem::path& dir);
  // `config` supplies the special tokens (bos_token, eos_token, ...) given to the template.
  ChatTemplate(const std::string& source, const Json& config, const std::string& origin);

  // Variables: messages (a JSON array of {role, content, ...}), add_generation_prompt, the special
  // tokens, tools (None unless `extra` sets it), enable_thinking only when given (templates test
  // `enable_thinking is defined`), plus every member of `extra` (a JSON object), which wins.
  // Key order inside messages and tools is kept (tojson shows it), hence ordered JSON.
  std::string render(const jinja::OrderedJson& messages, bool add_generation_prompt,
                     std::optional<bool> enable_thinking = std::nullopt,
                     const jinja::OrderedJson& extra = jinja::OrderedJson()) const;

 private:
  jinja::Template template_;
  jinja::OrderedJson special_tokens_;  // name -> text
};

}  // namespace s0
