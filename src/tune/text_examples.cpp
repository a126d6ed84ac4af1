#include "tune/text_examples.h"

#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace s0 {

namespace {

// What the tokenizing function reads from the folder, once, at its first text example.
struct TextTokenizing {
  std::filesystem::path dir;
  const Tokenizer* tok = nullptr;  // `loaded`, or `own`
  std::optional<Tokenizer> own;
  std::shared_ptr<ChatTemplate> tpl;
  std::string eos;
  bool ready = false;

  void prepare() {
    if (ready) return;
    if (!tok) tok = &own.emplace(Tokenizer::load(dir));
    std::error_code ec;
    if (std::filesystem::exists(dir / "chat_template.jinja", ec) ||
        std::filesystem::exists(dir / "tokenizer_config.json", ec)) {
      try {
        tpl = std::make_shared<ChatTemplate>(ChatTemplate::load(dir));
      } catch (const Error&) {
        tpl.reset();  // a tokenizer_config.json without a chat template: plain prompts
      }
    }
    eos = tok->special_token("eos_token").value_or("");
    ready = true;
  }
};

}  // namespace

PairTokenizer text_example_tokenizer(const std::filesystem::path& model_dir, const Tokenizer* loaded) {
  std::error_code ec;
  if (!std::filesystem::exists(model_dir / "tokenizer.json", ec)) return {};
  auto state = std::make_shared<TextTokenizing>();
  state->dir = model_dir;
  state->tok = loaded;
  return [state](const std::string& prompt, const std::string& completion) {
    TextTokenizing& t = *state;
    t.prepare();
    std::string prompt_text = prompt;
    if (t.tpl) {
      jinja::OrderedJson messages = jinja::OrderedJson::array();
      messages.push_back({{"role", "user"}, {"content", prompt}});
      prompt_text = t.tpl->render(messages, /*add_generation_prompt=*/true, /*enable_thinking=*/false);
    }
    TokenizedPair p;
    for (int32_t id : t.tok->encode(prompt_text)) p.ids.push_back(id);
    p.prompt_len = static_cast<int64_t>(p.ids.size());
    for (int32_t id : t.tok->encode(completion + t.eos)) p.ids.push_back(id);
    return p;
  };
}

}  // namespace s0
