#include "eval/humaneval.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
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

// Checks started while the other samples are still being made (as generation on a GPU hands them
// over, from its own thread and in any order) give the records of checking everything at the end.
TEST(HumanEval, ChecksStartedEarlyGiveTheSameRecords) {
  std::vector<Problem> few(problems().begin(), problems().begin() + 6);
  std::vector<std::vector<std::string>> completions;
  for (const Problem& p : few)
    completions.push_back({"    return None\n", "```python\n" + p.canonical_solution + "```\n", "    return (\n"});
  CheckOptions options;
  options.sandbox = &sandbox();
  options.workers = 3;
  const std::vector<ProblemRecord> want = check_completions(Benchmark::humaneval, few, completions, options);

  StartedChecks started(sandbox(), options.limits, options.workers, few);
  std::thread generator([&] {
    for (size_t i = few.size(); i-- > 0;)  // the last problems first; samples 1 and 2 only
      for (size_t s : {2u, 1u}) started.start(i, s, completions[i][s]);
  });
  generator.join();
  options.started = &started;
  const std::vector<ProblemRecord> got = check_completions(Benchmark::humaneval, few, completions, options);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].sample_passed, want[i].sample_passed) << want[i].id;
    EXPECT_EQ(got[i].sample_passed, (std::vector<bool>{false, true, false})) << want[i].id;
    EXPECT_EQ(got[i].failure, want[i].failure) << want[i].id;
    EXPECT_EQ(got[i].first_correct, want[i].first_correct) << want[i].id;
  }

  // A sample started as one text and checked as another is an internal error, never a wrong record.
  StartedChecks other(sandbox(), options.limits, options.workers, few);
  other.start(0, 0, "    return 1\n");
  options.started = &other;
  EXPECT_THROW(check_completions(Benchmark::humaneval, few, completions, options), Error);
}

// Several runs' samples checked together (`s0 experiment`'s greedy evaluations of several adapters,
// generated in one pass): each run's records are those of checking its samples alone, the first
// of its own samples deciding `passed` and `failure`.
TEST(HumanEval, RunsCheckedTogetherGiveEachRunsOwnRecords) {
  std::vector<Problem> few(problems().begin(), problems().begin() + 4);
  const std::vector<std::vector<std::string>> runs = {
      {"    return None\n", "    return (\n"}, {"CANONICAL", "    return None\n"}, {"    return (\n", "CANONICAL"}};
  std::vector<std::vector<std::string>> together(few.size());
  std::vector<std::vector<std::vector<std::string>>> alone(runs.size(), std::vector<std::vector<std::string>>(few.size()));
  for (size_t i = 0; i < few.size(); ++i)
    for (size_t g = 0; g < runs.size(); ++g)
      for (const std::string& c : runs[g]) {
        const std::string text = c == "CANONICAL" ? few[i].canonical_solution : c;
        together[i].push_back(text);
        alone[g][i].push_back(text);
      }
  CheckOptions options;
  options.sandbox = &sandbox();
  options.workers = 3;
  const std::vector<std::vector<ProblemRecord>> got =
      check_completion_groups(Benchmark::humaneval, few, together, runs.size(), options);
  ASSERT_EQ(got.size(), runs.size());
  for (size_t g = 0; g < runs.size(); ++g) {
    const std::vector<ProblemRecord> want = check_completions(Benchmark::humaneval, few, alone[g], options);
    ASSERT_EQ(got[g].size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[g][i].n, 2u);
      EXPECT_EQ(got[g][i].sample_passed, want[i].sample_passed) << g << " " << want[i].id;
      EXPECT_EQ(got[g][i].passed, g == 1) << g << " " << want[i].id;
      EXPECT_EQ(got[g][i].c, g == 0 ? 0u : 1u) << g << " " << want[i].id;
      EXPECT_EQ(got[g][i].failure, want[i].failure) << g << " " << want[i].id;
      EXPECT_EQ(got[g][i].failure.empty(), g == 1) << g << " " << want[i].id;
      EXPECT_EQ(got[g][i].first_correct, want[i].first_correct) << g << " " << want[i].id;
    }
  }
  // Samples that do not divide into the runs are an internal error.
  EXPECT_THROW(check_completion_groups(Benchmark::humaneval, few, together, 4, options), Error);
}
