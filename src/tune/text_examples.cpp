#include "tune/text_examples.h"

#include <memory>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace s0 {

PairTokenizer text_example_tokenizer(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(model_dir / "tokenizer.json", ec)) return {};
  auto tok = std::make_shared<Tokenizer>(Tokenizer::load(model_dir));
  std::shared_ptr<ChatTemplate> tpl;
  if (std::filesystem::exists(model_dir / "chat_template.jinja", ec) ||
      std::filesystem::exists(model_dir / "tokenizer_config.json", ec)) {
    try {
      tpl = std::make_shared<ChatTemplate>(ChatTemplate::load(model_dir));
    } catch (const Error&) {
      tpl.reset();  // a tokenizer_config.json without a chat template: plain prompts
    }
  }
  const std::string eos = tok->special_token("eos_token").value_or("");
  return [tok, tpl, eos](const std::string& prompt, const std::string& completion) {
    std::string prompt_text = prompt;
    if (tpl) {
      jinja::OrderedJson messages = jinja::OrderedJson::array();
      messages.push_back({{"role", "user"}, {"content", prompt}});
      prompt_text = tpl->render(messages, /*add_generation_prompt=*/true, /*enable_thinking=*/false);
    }
    TokenizedPair p;
    for (int32_t id : tok->encode(prompt_text)) p.ids.push_back(id);
    p.prompt_len = static_cast<int64_t>(p.ids.size());
    for (int32_t id : tok->encode(completion + eos)) p.ids.push_back(id);
    return p;
  };
}

}  // namespace s0
