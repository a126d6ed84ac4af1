#include "tokenizer/chat_template.h"

#include "core/error.h"
#include "io/file.h"

namespace s0 {
namespace {

std::string source_from_config(const Json& config, const std::string& origin) {
  if (!config.is_object() || !config.contains("chat_template") || config["chat_template"].is_null()) {
    fail(origin, ": no \"chat_template\" (and no chat_template.jinja next to it)");
  }
  const Json& t = config["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    for (const Json& named : t) {
      if (named.is_object() && named.value("name", "") == "default") return json_string(named, "template", origin);
    }
    fail(origin, ": \"chat_template\" lists no template named \"default\"");
  }
  fail(origin, ": \"chat_template\" must be a string or a list of {name, template}");
}

}  // namespace

ChatTemplate ChatTemplate::load(const std::filesystem::path& dir) {
  auto config_path = dir / "tokenizer_config.json";
  auto jinja_path = dir / "chat_template.jinja";
  bool has_config = std::filesystem::exists(config_path), has_jinja = std::filesystem::exists(jinja_path);
  if (!has_config && !has_jinja) {
    fail("no chat template in ", dir.string(), ": neither tokenizer_config.json nor chat_template.jinja exists");
  }
  Json config = has_config ? load_json_file(config_path) : Json::object();
  if (has_jinja) return ChatTemplate(read_file(jinja_path), config, jinja_path.string());
  return ChatTemplate(source_from_config(config, config_path.string()), config, config_path.string() + " chat_template");
}

ChatTemplate::ChatTemplate(const std::string& source, const Json& config, const std::string& origin)
    : template_(source, origin), special_tokens_(jinja::OrderedJson::object()) {
  if (!config.is_object()) return;
  for (const char* name : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    if (!config.contains(name)) continue;
    const Json& v = config[name];
    if (v.is_string()) special_tokens_[name] = v;
    else if (v.is_object() && v.contains("content") && v["content"].is_string()) special_tokens_[name] = v["content"];
  }
}

std::string ChatTemplate::render(const jinja::OrderedJson& messages, bool add_generation_prompt,
                                 std::optional<bool> enable_thinking, const jinja::OrderedJson& extra) const {
  if (!messages.is_array()) fail("chat template: messages must be a JSON array");
  jinja::OrderedJson vars = special_tokens_;
  vars["messages"] = messages;
  vars["add_generation_prompt"] = add_generation_prompt;
  vars["tools"] = nullptr;
  if (enable_thinking) vars["enable_thinking"] = *enable_thinking;
  if (!extra.is_null()) {
    if (!extra.is_object()) fail("chat template: extra variables must be a JSON object");
    for (const auto& [k, v] : extra.items()) vars[k] = v;
  }
  return template_.render(vars);
}

}  // namespace s0
