#include "eval/humaneval.h"

#include <gtest/gtest.h>

#include "eval/dataset.h"
#include "eval/harness.h"
#include "support/test_support.h"

using namespace s0;

namespace {

const std::vector<Problem>& problems() {
  static const std::vector<Problem> all =
      load_benchmark(Benchmark::humaneval, test::shared_dir() / "datasets" / "humaneval.jsonl");
  return all;
}

const Sandbox& sandbox() {
  static const Sandbox sb = Sandbox::open(false);
  return sb;
}

std::vector<ProblemRecord> check(const std::vector<std::vector<std::string>>& completions) {
  CheckOptions options;
  options.sandbox = &sandbox();
  return check_completions(Benchmark::humaneval, problems(), completions, options);
}

}  // namespace

TEST(HumanEval, ProgramLayout) {
  const Problem& p = problems()[0];
  EXPECT_EQ(humaneval_program(p, "    return 1\n"),
            p.code_prompt + "    return 1\n\n" + p.test + "\ncheck(" + p.entry_point + ")\n");
}

TEST(HumanEval, AllCanonicalSolutionsPass) {
  std::vector<std::vector<std::string>> completions;
  for (const Problem& p : problems()) completions.push_back({p.canonical_solution});
  std::vector<ProblemRecord> records = check(completions);
  for (const ProblemRecord& r : records) {
    EXPECT_TRUE(r.passed) << r.id << ": " << r.failure;
    EXPECT_EQ(r.c, 1u);
  }
}

TEST(HumanEval, BrokenSolutionsFail) {
  // Every problem without a result; the first 20 also with a syntax error and with an exception.
  std::vector<std::vector<std::string>> completions;
  for (size_t i = 0; i < problems().size(); ++i) {
    completions.push_back({"    return None\n"});
    if (i < 20)
      completions.back().insert(completions.back().end(), {"    return (\n", "    raise NotImplementedError\n"});
  }
  std::vector<ProblemRecord> records = check(completions);
  for (const ProblemRecord& r : records) {
    EXPECT_EQ(r.c, 0u) << r.id;
    EXPECT_FALSE(r.failure.empty()) << r.id;
  }
}

TEST(HumanEval, ModelFormattingIsCleanedBeforeRunning) {
  // Fenced, with an empty think block, or repeating the whole function: all still pass.
  std::vector<Problem> few(problems().begin(), problems().begin() + 3);
  std::vector<std::vector<std::string>> completions;
  for (const Problem& p : few)
    completions.push_back({"<think>\n\n</think>\n\n```python\n" + p.canonical_solution + "```\n",
                           p.code_prompt + p.canonical_solution, "    while True: pass\n"});
  CheckOptions options;
  options.sandbox = &sandbox();
  options.limits.wall_seconds = 1;
  options.limits.cpu_seconds = 2;
  std::vector<ProblemRecord> records = check_completions(Benchmark::humaneval, few, completions, options);
  for (const ProblemRecord& r : records) {
    EXPECT_EQ(r.sample_passed, (std::vector<bool>{true, true, false})) << r.id;
    EXPECT_EQ(r.c, 2u);
    ASSERT_TRUE(r.first_correct.has_value());
    EXPECT_EQ(r.first_correct->find("```"), std::string::npos);
  }
}
