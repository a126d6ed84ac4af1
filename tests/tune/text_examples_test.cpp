// Text training examples become ids with the model folder's tokenizer, read at the first text
// example (a file of ids never reads it), or with a tokenizer already in memory (an experiment's
// session), which then is the one used: the same ids either way.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"
#include "tokenizer/tokenizer.h"
#include "tune/text_examples.h"

using namespace s0;

namespace {

std::filesystem::path qwen3_dir() { return test::shared_dir() / "fixtures" / "tokenizer" / "qwen3"; }

TEST(TextExamples, TokenizerReadAtTheFirstTextExampleOrTakenFromMemory) {
  const std::string prompt = "Write a function that adds two numbers.", completion = "def add(a, b):\n    return a + b";
  const TokenizedPair read = text_example_tokenizer(qwen3_dir())(prompt, completion);
  ASSERT_GT(read.prompt_len, 0);
  ASSERT_GT(static_cast<int64_t>(read.ids.size()), read.prompt_len);
  const Tokenizer loaded = Tokenizer::load(qwen3_dir());
  const TokenizedPair given = text_example_tokenizer(qwen3_dir(), &loaded)(prompt, completion);
  EXPECT_EQ(given.ids, read.ids);
  EXPECT_EQ(given.prompt_len, read.prompt_len);

  // A folder whose tokenizer.json cannot be read: making the function reads nothing; a text
  // example then fails, naming the problem, unless the tokenizer is given.
  const test::TempDir dir;
  std::filesystem::copy_file(qwen3_dir() / "tokenizer_config.json", dir / "tokenizer_config.json");
  test::write_text(dir / "tokenizer.json", "{not json");
  PairTokenizer from_folder;
  EXPECT_EQ(test::error_of([&] { from_folder = text_example_tokenizer(dir.path()); }), "(no error)");
  EXPECT_NE(test::error_of([&] { from_folder(prompt, completion); }).find("tokenizer.json"), std::string::npos);
  EXPECT_EQ(text_example_tokenizer(dir.path(), &loaded)(prompt, completion).ids, read.ids);
}

}  // namespace
