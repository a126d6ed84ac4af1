#include "eval/math_answer.h"

#include <gtest/gtest.h>

#include "eval/dataset.h"
#include "io/file.h"
#include "io/json.h"
#include "support/test_support.h"

using namespace s0;

TEST(MathAnswer, LastBoxedTakesBalancedBraces) {
  EXPECT_EQ(last_boxed("so $\\boxed{\\frac{1}{2}}$ and"), "\\frac{1}{2}");
  EXPECT_EQ(last_boxed("\\boxed{1} then \\boxed{\\{1, 2\\}}"), "\\{1, 2\\}");
  EXPECT_EQ(last_boxed("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}."), "\\left( 3, \\frac{\\pi}{2} \\right)");
  EXPECT_EQ(last_boxed("$\\boxed 5$"), "5");
  EXPECT_EQ(last_boxed("\\fbox{7}"), "7");
  EXPECT_FALSE(last_boxed("no box").has_value());
  EXPECT_FALSE(last_boxed("\\boxed{unclosed").has_value());
}

TEST(MathAnswer, Normalisation) {
  EXPECT_EQ(normalize_math_answer("$\\frac{1}{2}$"), "(1)/(2)");
  EXPECT_EQ(normalize_math_answer("\\dfrac12"), "(1)/(2)");
  EXPECT_EQ(normalize_math_answer("\\tfrac{3}{4}"), "(3)/(4)");
  EXPECT_EQ(normalize_math_answer("\\frac{\\sqrt{3}}{2}"), "(sqrt(3))/(2)");
  EXPECT_EQ(normalize_math_answer("\\sqrt2"), "sqrt(2)");
  EXPECT_EQ(normalize_math_answer("\\text{(C)}"), "(C)");
  EXPECT_EQ(normalize_math_answer("\\left( 3, \\frac{\\pi}{2} \\right)"), "(3,(pi)/(2))");
  EXPECT_EQ(normalize_math_answer("x = 5"), "5");
  EXPECT_EQ(normalize_math_answer("10{,}000"), "10000");
  EXPECT_EQ(normalize_math_answer("90^\\circ"), "90");
  EXPECT_EQ(normalize_math_answer("\\text{Monday}."), "Monday");
}

TEST(MathAnswer, Evaluation) {
  EXPECT_NEAR(*evaluate_math_answer("(1)/(2)"), 0.5, 1e-15);
  EXPECT_NEAR(*evaluate_math_answer("2sqrt(3)"), 3.4641016, 1e-6);
  EXPECT_NEAR(*evaluate_math_answer("(pi)/(2)"), 1.5707963, 1e-6);
  EXPECT_NEAR(*evaluate_math_answer("2^10-3*4"), 1012, 1e-12);
  EXPECT_NEAR(*evaluate_math_answer("-(8)^(1/(3))"), -2, 1e-12);
  EXPECT_FALSE(evaluate_math_answer("x+1").has_value());
  EXPECT_FALSE(evaluate_math_answer("(1,2)").has_value());
  EXPECT_FALSE(evaluate_math_answer("1/0").has_value());
}

TEST(MathAnswer, FormattingVariantsMatch) {
  const std::pair<const char*, const char*> same[] = {
      {"\\frac{1}{2}", "0.5"},
      {"\\dfrac12", "\\frac{1}{2}"},
      {"1/2", "\\frac{1}{2}"},
      {"\\frac{\\sqrt3}{2}", "\\frac{\\sqrt{3}}{2}"},
      {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"},
      {"(3, 1.5708)", "\\left( 3, \\frac{\\pi}{2} \\right)"},
      {"\\text{(C)}", "(C)"},
      {"1,000", "1000"},
      {"x=5", "5"},
      {"$5$", "5"},
      {"5.", "5"},
      {"90^\\circ", "90"},
      {"2\\sqrt{3}", "\\sqrt{12}"},
      {"\\frac{3\\pi}{4}", "\\frac34\\pi"},
      {"10\\%", "10"},
      {"\\text{Evelyn}", "Evelyn"},
      {"p - 2", "p-2"},
      {"[-2, 7)", "[-2,7)"},
      {"3.00001", "3"},
      {"\\$32,\\!348", "32348"},
      {"864 \\mbox{ inches}^2", "864"},
      {"\\frac{270}7\\text{ degrees}", "\\frac{270}{7}"},
      {"5.4 \\text{ cents}", "5.4"},
  };
  for (auto [a, b] : same) EXPECT_TRUE(math_equivalent(a, b)) << a << " vs " << b;
}

TEST(MathAnswer, WrongAnswersDoNotMatch) {
  const std::pair<const char*, const char*> differ[] = {
      {"\\frac{1}{3}", "\\frac{1}{2}"},
      {"(3, \\frac{\\pi}{3})", "\\left( 3, \\frac{\\pi}{2} \\right)"},
      {"1001", "1000"},
      {"3.001", "3"},
      {"\\text{(B)}", "(C)"},
      {"[-2, 7]", "[-2, 7)"},
      {"p+2", "p-2"},
      {"", "5"},
      {"\\sqrt{2}", "2"},
      {"(1,2)", "(1,2,3)"},
  };
  for (auto [a, b] : differ) EXPECT_FALSE(math_equivalent(a, b)) << a << " vs " << b;
}

TEST(MathAnswer, AllFiveHundredGoldsMatchThemselves) {
  std::filesystem::path path = test::shared_dir() / "datasets" / "math500.jsonl";
  std::vector<Problem> all = load_benchmark(Benchmark::math500, path);
  ASSERT_EQ(all.size(), 500u);
  size_t agree_with_answer_field = 0;
  std::string text = read_file(path);
  size_t start = 0;
  for (const Problem& p : all) {
    std::optional<std::string> boxed = last_boxed(p.solution);
    ASSERT_TRUE(boxed.has_value()) << p.id;
    EXPECT_TRUE(math_equivalent(*boxed, p.gold)) << p.id << ": " << *boxed;
    // A model that answers with the reference solution is judged correct.
    size_t end = text.find('\n', start);
    Json row = parse_json(text.substr(start, end - start), "math500");
    start = end + 1;
    agree_with_answer_field += math_equivalent(row["answer"].get<std::string>(), p.gold);
  }
  // The published `answer` field is the boxed answer up to formatting; normalisation must see that.
  EXPECT_GE(agree_with_answer_field, 495u);
}
