#include <gtest/gtest.h>

#include "core/error.h"
#include "qwen3_fixture.h"
#include "tokenizer/chat_template.h"
#include "support/test_support.h"

using namespace s0;
using test::error_of;
using namespace s0::test;

namespace {

const ChatTemplate& qwen3_template() {
  static const ChatTemplate tpl = ChatTemplate::load(qwen3_dir());
  return tpl;
}

}  // namespace

TEST(ChatTemplate, EveryFixtureCase) {
  auto cases = read_jsonl(qwen3_dir() / "chat_template_cases.jsonl");
  ASSERT_EQ(cases.size(), 7u);
  for (const Json& c : cases) {
    const Json& in = c["input"];
    std::optional<bool> thinking;
    if (in.contains("enable_thinking")) thinking = in["enable_thinking"].get<bool>();
    std::string rendered = qwen3_template().render(in["messages"], in["add_generation_prompt"].get<bool>(), thinking);
    EXPECT_EQ(rendered, c["rendered"].get<std::string>()) << in.dump();
  }
}

TEST(ChatTemplate, ToolsAndToolCalls) {
  using OJ = jinja::OrderedJson;
  OJ tools = OJ::parse(R"([{"type": "function", "function": {"name": "add", "parameters": {"a": 1, "b": [true, null, 2.5]}}}])");
  OJ messages = OJ::parse(R"([
    {"role": "system", "content": "S"},
    {"role": "user", "content": "add"},
    {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "add", "arguments": {"a": 1, "b": "x\"y"}}}]},
    {"role": "tool", "content": "3"},
    {"role": "tool", "content": "4"}
  ])");
  std::string out = qwen3_template().render(messages, true, std::nullopt, OJ{{"tools", tools}});
  std::string expected =
      "<|im_start|>system\nS\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": [true, null, 2.5]}}}\n"
      "</tools>\n\nFor each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
      "</tool_call><|im_end|>\n"
      "<|im_start|>user\nadd<|im_end|>\n"
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": \"x\\\"y\"}}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\n3\n</tool_response>\n<tool_response>\n4\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n";
  EXPECT_EQ(out, expected);
}

TEST(ChatTemplate, ReasoningContentKeptAfterLastQuery) {
  Json messages = Json::parse(R"([
    {"role": "user", "content": "q"},
    {"role": "assistant", "content": "<think>\nplan\n</think>\n\nanswer"}
  ])");
  EXPECT_EQ(qwen3_template().render(messages, false),
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nplan\n</think>\n\nanswer<|im_end|>\n");
}

TEST(ChatTemplate, ReadsChatTemplateJinjaFirst) {
  TempDir dir;
  write_text(dir / "chat_template.jinja", "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}\n");
  write_text(dir / "tokenizer_config.json", R"({"bos_token": {"content": "<s>"}, "chat_template": "ignored"})");
  auto tpl = ChatTemplate::load(dir.path());
  EXPECT_EQ(tpl.render(Json::parse(R"([{"role": "user", "content": "x"}])"), false), "<s>[user]x");
}

TEST(ChatTemplate, NamedTemplateListUsesDefault) {
  TempDir dir;
  write_text(dir / "tokenizer_config.json",
             R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ eos_token }}"}], "eos_token": "</s>"})");
  EXPECT_EQ(ChatTemplate::load(dir.path()).render(Json::array(), false), "D</s>");
}

TEST(ChatTemplate, MissingFilesAreNamed) {
  TempDir dir;
  EXPECT_NE(error_of([&] { ChatTemplate::load(dir.path()); }).find("neither tokenizer_config.json nor chat_template.jinja"),
            std::string::npos);
  write_text(dir / "tokenizer_config.json", R"({"eos_token": "x"})");
  EXPECT_NE(error_of([&] { ChatTemplate::load(dir.path()); }).find("tokenizer_config.json: no \"chat_template\""),
            std::string::npos);
}

TEST(ChatTemplate, SyntaxErrorReportsLineAndColumn) {
  TempDir dir;
  write_text(dir / "chat_template.jinja", "line one\n{% for m in messages %}\n  {{ m.content | }}\n{% endfor %}");
  std::string err = error_of([&] { ChatTemplate::load(dir.path()); });
  EXPECT_NE(err.find("chat_template.jinja: template line 3, column 18: expected a name, got '}}'"), std::string::npos) << err;
}
