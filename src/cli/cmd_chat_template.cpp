// `s0 chat-template`: prints the prompt a model's own chat template renders for some messages.
#include <iostream>
#include <iterator>
#include <string>

#include "cli/command.h"
#include "cli/model_folder.h"
#include "core/error.h"
#include "io/file.h"
#include "tokenizer/chat_template.h"

namespace s0::cli {
namespace {

struct ChatTemplateOptions {
  std::string model;
  std::string messages;
  bool no_thinking = false;
  bool no_generation_prompt = false;
};

int run_chat_template(const ChatTemplateOptions& opt) {
  ChatTemplate tpl = ChatTemplate::load(opt.model);
  std::string text;
  if (opt.messages == "-") text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  else text = read_file(opt.messages);
  std::string origin = opt.messages == "-" ? "stdin" : opt.messages;
  jinja::OrderedJson doc;
  try {
    doc = jinja::OrderedJson::parse(text);  // ordered: the template may print keys with tojson
  } catch (const std::exception& e) {
    fail(origin, ": malformed JSON (", e.what(), ")");
  }
  jinja::OrderedJson messages, extra = jinja::OrderedJson::object();
  if (doc.is_array()) {
    messages = doc;
  } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
    for (const auto& [k, v] : doc.items()) {
      if (k == "messages") messages = v;
      else extra[k] = v;
    }
  } else {
    fail(origin, ": expected a JSON array of messages or an object {\"messages\": [...], ...}");
  }
  std::optional<bool> thinking;
  if (opt.no_thinking) thinking = false;
  std::cout << tpl.render(messages, !opt.no_generation_prompt, thinking, extra) << std::flush;
  return 0;
}

Runner setup(CLI::App& app) {
  auto opt = std::make_shared<ChatTemplateOptions>();
  add_model_option(app, opt->model, "model folder holding chat_template.jinja or tokenizer_config.json")->required();
  app.add_option("--messages", opt->messages,
                 "JSON file ('-' for stdin): an array of {\"role\", \"content\", ...} messages, or an object "
                 "{\"messages\": [...], \"tools\": [...], ...} whose other members become template variables")
      ->required();
  app.add_flag("--no-thinking", opt->no_thinking, "set enable_thinking=false (otherwise it is left undefined: the template's default)");
  app.add_flag("--no-generation-prompt", opt->no_generation_prompt, "do not open an assistant turn at the end");
  return [opt] { return run_chat_template(*opt); };
}

S0_COMMAND("chat-template", "print the prompt a model's chat template renders for a list of messages", setup);

}  // namespace
}  // namespace s0::cli
