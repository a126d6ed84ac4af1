#pragma once
// What `s0 experiment` tells a person: report.md (the paper's table per sweep: base, tuned mean +/-
// std over seeds, delta, Welch p-value, training solutions, problems fixed and broken) and the SVG
// charts it links, the main configurations (one per variant) side by side. Built from the
// experiment's results alone, so that it can be tested on numbers.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/json.h"

namespace s0 {

// One adapter: a seed's training under one configuration, and its evaluation.
struct SeedRun {
  int seed = 0;
  size_t training_solutions = 0;
  Json report;  // the tuned `s0 eval` report, compared with the base report ("baseline")
};

// Per seed, for the charts of a main configuration: the training loss per step and the norm of
// each trained layer's raw state (S0, or the state-offset variant's offset).
struct SeedTraining {
  int seed = 0;
  std::vector<double> steps, losses;
  std::map<int64_t, double> state_norms;  // layer -> the raw state's norm
};

// One row of a table: a configuration (a variant's layer subset, an alpha) over every seed, and
// the metric of its reports the row compares (report_metric's names: "greedy", "pass@5", ...).
struct ConfigRuns {
  std::string name;
  std::vector<SeedRun> runs;
  std::string metric = "greedy";
  // Given for a main configuration (in the first table: each variant's first layer subset), per
  // seed: its training is charted and the problems its adapters fixed and broke are listed.
  std::vector<SeedTraining> training = {};
};

struct SweepTable {
  std::string title;
  std::string column;  // what the rows vary: "layers", "alpha", "metric"
  std::vector<ConfigRuns> rows;
  Json base_report;  // the base run the rows are compared with; null: the summary's greedy one
};

struct ExperimentSummary {
  std::string benchmark, model;
  Json base_report;  // the base model's greedy `s0 eval` report (run once)
  // The first table's rows with their training are the main configurations (one at least); greedy
  // rows are drawn in pass1.svg.
  std::vector<SweepTable> tables;
};

// A row's numbers: the row's metric of the tuned runs against the base's. The base is run once
// (greedy decoding is deterministic, so every seed would score it the same): the Welch test takes
// it as that many equal values (the test is then the one-sample t-test of the tuned runs, df =
// seeds - 1). No p-value with fewer than two seeds.
struct RowStats {
  double base = 0, mean = 0, std = 0, delta = 0;
  std::optional<double> p;
  size_t seeds = 0;
  double mean_solutions = 0;
  size_t fixed = 0, broken = 0;  // over all seeds
};
RowStats row_stats(double base, const ConfigRuns& config);

std::string report_markdown(const ExperimentSummary& summary);

// The charts report.md links, by file name: loss.svg, state_norm.svg, pass1.svg, flips.svg.
std::map<std::string, std::string> report_charts(const ExperimentSummary& summary);

}  // namespace s0
