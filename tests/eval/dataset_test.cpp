#include "eval/dataset.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/prompts.h"
#include "support/test_support.h"

using namespace s0;

namespace {
std::filesystem::path data(const char* name) { return test::shared_dir() / "datasets" / name; }
}  // namespace

TEST(Dataset, HumanEvalSplits) {
  std::vector<Problem> all = load_benchmark(Benchmark::humaneval, data("humaneval.jsonl"));
  ASSERT_EQ(all.size(), 164u);
  std::vector<Problem> train = select_split(Benchmark::humaneval, all, Split::train);
  std::vector<Problem> eval = select_split(Benchmark::humaneval, all, Split::eval);
  ASSERT_EQ(train.size(), 80u);
  ASSERT_EQ(eval.size(), 84u);
  EXPECT_EQ(train.front().id, "HumanEval/0");
  EXPECT_EQ(train.back().id, "HumanEval/79");
  EXPECT_EQ(eval.front().id, "HumanEval/80");
  EXPECT_EQ(eval.back().id, "HumanEval/163");
  EXPECT_EQ(all[12].prompt,
            "Complete the following Python function. Only output the function body, no explanation. No markdown.\n\n" +
                all[12].code_prompt);
}

TEST(Dataset, Gsm8kAndMathSplits) {
  std::vector<Problem> train = load_benchmark(Benchmark::gsm8k, data("gsm8k_train.jsonl"));
  EXPECT_EQ(select_split(Benchmark::gsm8k, train, Split::train).size(), 200u);
  std::vector<Problem> test = load_benchmark(Benchmark::gsm8k, data("gsm8k_test.jsonl"));
  EXPECT_EQ(select_split(Benchmark::gsm8k, test, Split::eval).size(), 1319u);
  EXPECT_EQ(test[0].gold, "18");
  EXPECT_EQ(test[0].prompt.rfind("Solve this math problem step by step. End with the answer after ####.\n\nJanet", 0),
            0u);

  std::vector<Problem> math = load_benchmark(Benchmark::math500, data("math500.jsonl"));
  std::vector<Problem> mtrain = select_split(Benchmark::math500, math, Split::train);
  std::vector<Problem> meval = select_split(Benchmark::math500, math, Split::eval);
  ASSERT_EQ(mtrain.size(), 250u);
  ASSERT_EQ(meval.size(), 250u);
  EXPECT_EQ(meval.front().index, 250u);
  EXPECT_EQ(math[0].gold, "\\left( 3, \\frac{\\pi}{2} \\right)");
  EXPECT_EQ(math[0].prompt.rfind("Solve this math problem. Show your work step by step. Put your final answer in "
                                 "\\boxed{}.\n\nConvert the point",
                                 0),
            0u);
  std::vector<Problem> partial(math.begin(), math.begin() + 10);
  EXPECT_THROW(select_split(Benchmark::math500, partial, Split::eval), Error);
}

TEST(Dataset, MalformedRowsNameFileAndLine) {
  test::TempDir dir;
  test::write_text(dir / "bad.jsonl", "{\"question\": \"q\", \"answer\": \"#### 3\"}\n{\"question\": \"q\"}\n");
  try {
    load_benchmark(Benchmark::gsm8k, dir / "bad.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl line 2: missing field \"answer\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_benchmark("mbpp"), Error);
  EXPECT_THROW(parse_split("test"), Error);
}

TEST(Prompts, CompletionCleanup) {
  EXPECT_EQ(strip_thinking("<think>\nhmm 42\n</think>\n\n#### 7"), "#### 7");
  EXPECT_EQ(strip_thinking("reasoning</think>\nanswer 3"), "answer 3");
  EXPECT_EQ(strip_thinking("answer 3<think>never closed 4"), "answer 3");
  EXPECT_EQ(clean_code_completion("    return x + 1\n"), "    return x + 1\n");
  EXPECT_EQ(clean_code_completion("```python\n    return x + 1\n```"), "    return x + 1\n");
  EXPECT_EQ(clean_code_completion("<think>\n</think>\n\n```python\n    return x\n```\nThis returns x."),
            "    return x\n");
  EXPECT_EQ(clean_code_completion("\n\n    return x"), "    return x");
  EXPECT_EQ(clean_code_completion("```\ndef f(x):\n    return x\n"), "def f(x):\n    return x\n");
}
