// report.md's numbers and the charts of an experiment, from eval reports made by the eval code itself.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/report.h"
#include "report/experiment_report.h"
#include "support/test_support.h"
#include "support/xml_check.h"

using namespace s0;

namespace {

// A HumanEval report over problems 80, 81, ... with `samples` samples each, `correct[i]` of them
// right (the first ones): greedy by default.
Json eval_report(const std::vector<size_t>& correct, size_t samples = 1) {
  std::vector<ProblemRecord> records;
  for (size_t i = 0; i < correct.size(); ++i) {
    ProblemRecord r;
    r.id = "HumanEval/" + std::to_string(80 + i);
    r.n = samples;
    r.c = correct[i];
    r.passed = correct[i] > 0;
    for (size_t k = 0; k < samples; ++k) r.sample_passed.push_back(k < correct[i]);
    records.push_back(r);
  }
  return make_report({Benchmark::humaneval, Split::eval, "toy.jsonl", "model", "label"}, records);
}

Json tuned_report(const std::vector<size_t>& passed, const Json& base) {
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
  s.base_report = eval_report({1, 0, 0, 1});
  ConfigRuns all{"all", {{1, 3, tuned_report({0, 1, 1, 1}, s.base_report)},
                         {2, 4, tuned_report({1, 1, 1, 1}, s.base_report)}}};
  all.training.push_back({1, {1, 2, 3}, {5.0, 4.5, 4.0}, {{0, 3.0}, {2, 4.0}}});
  all.training.push_back({2, {1, 2, 3}, {5.2, 4.4, 4.1}, {{0, 2.5}, {2, 4.5}}});
  ConfigRuns early{"early", {{1, 3, tuned_report({1, 0, 0, 1}, s.base_report)},
                             {2, 4, tuned_report({1, 0, 0, 1}, s.base_report)}}};
  s.tables.push_back({"Layer subsets", "layers", {all, early}, Json()});
  s.tables.push_back({"Alpha sweep", "alpha", {{"0.5", all.runs}}, Json()});
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
  EXPECT_EQ(test::occurrences(pass, "<rect x="), 4u + 1u);  // base and the three configurations, a legend swatch
  EXPECT_EQ(test::occurrences(charts.at("flips.svg"), "<g class=\"series\""), 2u);  // fixed and broken
}

TEST(ExperimentReport, PassAtKRowsCompareWithTheSampledBase) {
  ExperimentSummary s = summary();
  const Json base = eval_report({0, 1, 5, 0}, 5);  // pass@1 (0 + 0.2 + 1 + 0) / 4 = 0.3; pass@5 0.5
  Json seed1 = eval_report({1, 1, 5, 0}, 5), seed2 = eval_report({2, 1, 5, 0}, 5);
  compare_with_baseline(seed1, base, "base");
  compare_with_baseline(seed2, base, "base");
  SweepTable by_k{"pass@k", "metric", {}, base};
  for (const std::string metric : {"pass@1", "pass@5"})
    by_k.rows.push_back({metric, {{1, 3, seed1}, {2, 4, seed2}}, metric});
  s.tables.push_back(by_k);
  const std::string md = report_markdown(s);
  // pass@1: seeds 0.35 and 0.40 against 0.30; pass@5: 0.75 both against 0.5 (no spread: p 0).
  EXPECT_NE(md.find("| pass@1 | 0.3000 | 0.3750 ± 0.0354 | +0.0750 | "), std::string::npos) << md;
  EXPECT_NE(md.find("| pass@5 | 0.5000 | 0.7500 ± 0.0000 | +0.2500 | 0 | 2 | 3.5 (3, 4) | 2 / 0 |"),
            std::string::npos) << md;
  // The pass@1 chart keeps to the greedy rows: base and the three greedy configurations.
  EXPECT_EQ(test::occurrences(report_charts(s).at("pass1.svg"), "<rect x="), 4u + 1u);  // and the legend swatch
}

// A second variant's main configuration (its first subset, a row of the first table with its
// training) gets its own list of flips, and the charts draw it beside the first, each seed's
// series and bars naming the configuration.
TEST(ExperimentReport, EachMainConfigurationIsListedAndCharted) {
  ExperimentSummary s = summary();
  // The state-offset adapters: seed 1 passes 80, 81 (fixes 81), seed 2 only 83 (breaks 80).
  ConfigRuns offset{"all, state-offset", {{1, 3, tuned_report({1, 1, 0, 1}, s.base_report)},
                                          {2, 4, tuned_report({0, 0, 0, 1}, s.base_report)}}};
  offset.training.push_back({1, {1, 2}, {5.0, 4.8}, {{0, 1.0}, {2, 2.0}}});
  offset.training.push_back({2, {1, 2}, {5.1, 4.9}, {{0, 1.5}, {2, 2.5}}});
  s.tables.front().rows.push_back(offset);
  const std::string md = report_markdown(s);
  // Mean 0.5 (0.75, 0.25), std 0.3536, delta 0; one fixed, one broken.
  EXPECT_NE(md.find("| all, state-offset | 0.5000 | 0.5000 ± 0.3536 | +0.0000 | 1 | 2 | 3.5 (3, 4) | 1 / 1 |"),
            std::string::npos) << md;
  EXPECT_EQ(test::occurrences(md, "## Problems fixed and broken ("), 2u) << md;
  const size_t second = md.find("## Problems fixed and broken (all, state-offset)");
  ASSERT_NE(second, std::string::npos) << md;
  EXPECT_NE(md.find("- seed 1: fixed HumanEval/81; broken none", second), std::string::npos) << md;
  EXPECT_NE(md.find("- seed 2: fixed none; broken HumanEval/80", second), std::string::npos) << md;
  // The "early" row has no training: it is no main configuration.
  EXPECT_EQ(md.find("## Problems fixed and broken (early)"), std::string::npos) << md;

  const std::map<std::string, std::string> charts = report_charts(s);
  for (const auto& [name, svg] : charts) EXPECT_EQ(test::xml_problem(svg), "") << name;
  const std::string& loss = charts.at("loss.svg");
  EXPECT_EQ(test::occurrences(loss, "<polyline"), 4u);  // two seeds of two configurations
  EXPECT_NE(loss.find("data-name=\"seed 2 (all, state-offset)\""), std::string::npos) << loss;
  EXPECT_NE(loss.find("data-name=\"seed 1 (all)\""), std::string::npos) << loss;
  EXPECT_NE(loss.find("Training loss (all; all, state-offset)"), std::string::npos) << loss;
  EXPECT_EQ(test::occurrences(charts.at("state_norm.svg"), "<g class=\"series\""), 4u);
  EXPECT_NE(charts.at("flips.svg").find(">seed 1 (all, state-offset)</text>"), std::string::npos);
  EXPECT_NE(charts.at("pass1.svg").find(">layers all, state-offset</text>"), std::string::npos);
}
