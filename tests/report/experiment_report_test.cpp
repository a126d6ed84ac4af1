// report.md's numbers and the charts of an experiment, from eval reports made by the eval code itself.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/report.h"
#include "report/experiment_report.h"
#include "support/test_support.h"
#include "support/xml_check.h"

using namespace s0;

namespace {

// A greedy HumanEval report over problems p0..p3 where those in `passed` pass.
Json eval_report(const std::vector<bool>& passed) {
  std::vector<ProblemRecord> records;
  for (size_t i = 0; i < passed.size(); ++i) {
    ProblemRecord r;
    r.id = "HumanEval/" + std::to_string(80 + i);
    r.n = 1;
    r.c = passed[i] ? 1 : 0;
    r.passed = passed[i];
    r.sample_passed = {passed[i]};
    records.push_back(r);
  }
  return make_report({Benchmark::humaneval, Split::eval, "toy.jsonl", "model", "label"}, records);
}

Json tuned_report(const std::vector<bool>& passed, const Json& base) {
  Json r = eval_report(passed);
  compare_with_baseline(r, base, "base/eval.json");
  return r;
}

// Base passes 2 of 4 (0.5); seed 1 passes 3 of 4 (fixes 81, 82, breaks 80: 0.75), seed 2 all four
// (fixes 81, 82: 1.0). Mean 0.875, std 0.1768, delta +0.375; one-sample t = 0.375 / (0.1768 / sqrt 2)
// = 3 with df 1, whose two-sided p for Student t with one degree of freedom (Cauchy) is
// 1 - (2 / pi) atan(3).
ExperimentSummary summary() {
  ExperimentSummary s;
  s.benchmark = "humaneval";
  s.model = "models/toy";
  s.base_report = eval_report({true, false, false, true});
  ConfigRuns all{"all", {{1, 3, tuned_report({false, true, true, true}, s.base_report)},
                         {2, 4, tuned_report({true, true, true, true}, s.base_report)}}};
  ConfigRuns early{"early", {{1, 3, tuned_report({true, false, false, true}, s.base_report)},
                             {2, 4, tuned_report({true, false, false, true}, s.base_report)}}};
  s.tables.push_back({"Layer subsets", "layers", {all, early}});
  s.tables.push_back({"Alpha sweep", "alpha", {{"0.5", all.runs}}});
  s.training.push_back({1, {1, 2, 3}, {5.0, 4.5, 4.0}, {{0, 3.0}, {2, 4.0}}});
  s.training.push_back({2, {1, 2, 3}, {5.2, 4.4, 4.1}, {{0, 2.5}, {2, 4.5}}});
  return s;
}

}  // namespace

TEST(ExperimentReport, RowStatsAgainstTheBase) {
  const ExperimentSummary s = summary();
  const RowStats r = row_stats(0.5, s.tables[0].rows[0]);
  EXPECT_DOUBLE_EQ(r.mean, 0.875);
  EXPECT_NEAR(r.std, std::sqrt(0.03125), 1e-12);
  EXPECT_DOUBLE_EQ(r.delta, 0.375);
  ASSERT_TRUE(r.p.has_value());
  EXPECT_NEAR(*r.p, 1 - 2 / M_PI * std::atan(3.0), 1e-9);
  EXPECT_DOUBLE_EQ(r.mean_solutions, 3.5);
  EXPECT_EQ(r.fixed, 4u);
  EXPECT_EQ(r.broken, 1u);
  // One seed: no spread, no test.
  const RowStats one = row_stats(0.5, {"one", {s.tables[0].rows[0].runs[0]}});
  EXPECT_FALSE(one.p.has_value());
  EXPECT_DOUBLE_EQ(one.mean, 0.75);
}

TEST(ExperimentReport, MarkdownHoldsOneTablePerSweep) {
  const std::string md = report_markdown(summary());
  EXPECT_NE(md.find("greedy pass@1 0.5000 (2 of 4 evaluation problems)"), std::string::npos) << md;
  EXPECT_EQ(test::occurrences(md, "### "), 2u);
  EXPECT_NE(md.find("| all | 0.5000 | 0.8750 ± 0.1768 | +0.3750 | 0.2048 | 2 | 3.5 (3, 4) | 4 / 1 |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| early | 0.5000 | 0.5000 ± 0.0000 | +0.0000 | 1 | 2 | 3.5 (3, 4) | 0 / 0 |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| 0.5 | 0.5000 | 0.8750 ± 0.1768 |"), std::string::npos) << md;
  EXPECT_NE(md.find("- seed 1: fixed HumanEval/81, HumanEval/82; broken HumanEval/80"), std::string::npos) << md;
  EXPECT_NE(md.find("- seed 2: fixed HumanEval/81, HumanEval/82; broken none"), std::string::npos) << md;
  for (const char* chart : {"loss.svg", "state_norm.svg", "pass1.svg", "flips.svg"})
    EXPECT_NE(md.find(std::string("(") + chart + ")"), std::string::npos) << chart;
}

TEST(ExperimentReport, ChartsAreWellFormedWithTheirSeries) {
  const std::map<std::string, std::string> charts = report_charts(summary());
  ASSERT_EQ(charts.size(), 4u);
  for (const auto& [name, svg] : charts) EXPECT_EQ(test::xml_problem(svg), "") << name;
  const std::string& loss = charts.at("loss.svg");
  EXPECT_EQ(test::occurrences(loss, "<g class=\"series\""), 2u);  // one line per seed
  EXPECT_EQ(test::occurrences(loss, "<polyline"), 2u);
  // Each polyline has its three steps: three "x,y" pairs.
  for (size_t at = loss.find("points=\""); at != std::string::npos; at = loss.find("points=\"", at + 1)) {
    const std::string points = loss.substr(at + 8, loss.find('"', at + 8) - at - 8);
    EXPECT_EQ(test::occurrences(points, ","), 3u) << points;
  }
  // State norms: two seeds x two layers; pass@1: base and three configurations, one series with spread.
  EXPECT_EQ(test::occurrences(charts.at("state_norm.svg"), "<g class=\"series\""), 2u);
  EXPECT_NE(charts.at("state_norm.svg").find(">2</text>"), std::string::npos);  // layer 2 is a category
  const std::string& pass = charts.at("pass1.svg");
  EXPECT_EQ(test::occurrences(pass, "<g class=\"series\""), 1u);
  EXPECT_NE(pass.find(">layers early</text>"), std::string::npos);
  EXPECT_NE(pass.find(">alpha 0.5</text>"), std::string::npos);
  EXPECT_EQ(test::occurrences(pass, "class=\"error\""), 2u);  // "all" twice (layers, alpha); "early" has none
  EXPECT_EQ(test::occurrences(charts.at("flips.svg"), "<g class=\"series\""), 2u);  // fixed and broken
}
