#include "eval/gsm8k.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/dataset.h"
#include "support/test_support.h"

using namespace s0;

TEST(Gsm8k, GoldAnswers) {
  EXPECT_EQ(gsm8k_gold("She makes 9 * 2 = $<<9*2=18>>18.\n#### 18", "t"), 18);
  EXPECT_EQ(gsm8k_gold("...\n#### 1,234,567", "t"), 1234567);
  EXPECT_EQ(gsm8k_gold("#### -3", "t"), -3);
  EXPECT_EQ(gsm8k_gold("#### 0.25", "t"), 0.25);
  EXPECT_THROW(gsm8k_gold("no final answer", "t"), Error);
}

TEST(Gsm8k, EveryGoldOfBothFilesParses) {
  for (const char* file : {"gsm8k_test.jsonl", "gsm8k_train.jsonl"}) {
    std::vector<Problem> all = load_benchmark(Benchmark::gsm8k, test::shared_dir() / "datasets" / file);
    EXPECT_GT(all.size(), 1000u);
    for (const Problem& p : all) {
      // The worked answer itself is a correct prediction: its number after #### is the gold.
      EXPECT_TRUE(gsm8k_correct(gsm8k_prediction(p.solution), std::stod(p.gold))) << p.id;
    }
  }
}

TEST(Gsm8k, FormattingVariantsMatch) {
  double gold = 1234;
  for (const char* text : {"So the total is 1234.\n#### 1234", "#### 1,234", "#### $1,234", "####1234 dollars",
                           "The answer is 1234.", "The answer is 1,234.00", "... so 1233 + 1 = 1234",
                           "#### 1234\nI hope this helps with 5 problems", "#### 1234.0004"})
    EXPECT_TRUE(gsm8k_correct(gsm8k_prediction(text), gold)) << text;
  EXPECT_TRUE(gsm8k_correct(gsm8k_prediction("The loss is -5 dollars"), -5));
  EXPECT_TRUE(gsm8k_correct(gsm8k_prediction("half a cup: .5"), 0.5));
}

TEST(Gsm8k, WrongAnswersDoNotMatch) {
  double gold = 1234;
  for (const char* text : {"#### 1235", "#### 12340", "#### 123", "The answer is 1234 minus 1, so 1233.",
                           "no number at all", "#### 1234.01", "#### 1,234\n wait #### 1,243"})
    EXPECT_FALSE(gsm8k_correct(gsm8k_prediction(text), gold)) << text;
  EXPECT_FALSE(gsm8k_prediction("no digits").has_value());
}
