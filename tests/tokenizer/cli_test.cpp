#include <gtest/gtest.h>

#include "qwen3_fixture.h"

using namespace s0::test;

TEST(TokenizeCli, EncodesJsonLines) {
  auto r = run_s0({"tokenize", "--model", qwen3_dir().string()},
                  "{\"text\": \"Hello world!\"}\n\n{\"text\": \"<|im_start|>user\\nhi<|im_end|>\"}\n{\"text\": \"a\xFF\"}\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ids\":[9707,1879,0]}\n{\"ids\":[151644,872,198,6023,151645]}\n{\"ids\":[64,5691]}\n");
}

TEST(TokenizeCli, Decodes) {
  auto r = run_s0({"tokenize", "--decode", "--model", qwen3_dir().string()}, "{\"ids\": [151644, 9707, 1879, 0]}\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"<|im_start|>Hello world!\"}\n");
  r = run_s0({"tokenize", "--decode", "--skip-special-tokens", "--model", qwen3_dir().string()}, "{\"ids\": [151644, 9707]}\n");
  EXPECT_EQ(r.out, "{\"text\":\"Hello\"}\n");
}

TEST(TokenizeCli, BadInputIsOneLineError) {
  auto r = run_s0({"tokenize", "--model", qwen3_dir().string()}, "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "{\"ids\":[562]}\n");
  EXPECT_EQ(r.err, "s0: error: stdin line 2: expected {\"text\": \"...\"}\n");
  r = run_s0({"tokenize", "--decode", "--model", qwen3_dir().string()}, "{\"ids\": [999999]}\n");
  EXPECT_EQ(r.err, "s0: error: stdin line 1: id 999999 is outside the vocabulary\n");
  TempDir empty;
  r = run_s0({"tokenize", "--model", empty.path().string()}, "");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "s0: error: tokenizer file " + (empty.path() / "tokenizer.json").string() + " not found\n");
}

TEST(ChatTemplateCli, RendersMessages) {
  TempDir dir;
  write_text(dir / "m.json", R"([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"}])");
  auto r = run_s0({"chat-template", "--model", qwen3_dir().string(), "--messages", (dir / "m.json").string(), "--no-thinking"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  r = run_s0({"chat-template", "--model", qwen3_dir().string(), "--messages", (dir / "m.json").string(), "--no-generation-prompt"});
  EXPECT_EQ(r.out, "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n");
}

TEST(ChatTemplateCli, ObjectFormWithTools) {
  TempDir dir;
  write_text(dir / "m.json", R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"name": "f", "a": 1}]})");
  auto r = run_s0({"chat-template", "--model", qwen3_dir().string(), "--messages", (dir / "m.json").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("<tools>\n{\"name\": \"f\", \"a\": 1}\n</tools>"), std::string::npos) << r.out;
  std::string tail = "</tool_call><|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n";
  ASSERT_GE(r.out.size(), tail.size());
  EXPECT_EQ(r.out.substr(r.out.size() - tail.size()), tail);
}

TEST(ChatTemplateCli, Errors) {
  TempDir dir;
  write_text(dir / "bad.json", R"({"msgs": []})");
  auto r = run_s0({"chat-template", "--model", qwen3_dir().string(), "--messages", (dir / "bad.json").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "s0: error: " + (dir / "bad.json").string() +
                       ": expected a JSON array of messages or an object {\"messages\": [...], ...}\n");
  write_text(dir / "chat_template.jinja", "{% for m in messages %}{{ m.content.upper() }}{% endfor %}");
  write_text(dir / "m.json", R"([{"role": "user"}])");
  r = run_s0({"chat-template", "--model", dir.path().string(), "--messages", (dir / "m.json").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "s0: error: " + (dir / "chat_template.jinja").string() +
                       ": template line 1, column 36: 'dict object' has no attribute 'content'\n");
}
