#pragma once
// The JSON report of `s0 eval` (per-problem records, pass@k, comparison with a baseline report),
// its one-screen summary, and reading a metric back for `s0 eval-stats`.
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/harness.h"
#include "io/json.h"

namespace s0 {

struct ReportInfo {
  Benchmark benchmark = Benchmark::humaneval;
  Split split = Split::eval;
  std::string data;         // the data file
  std::string completions;  // where the completions came from
  std::string label;        // free text naming the run (adapter, seed, ...)
};

// pass@k is reported for k in {1, 5, 10} where every problem has at least k samples.
Json make_report(const ReportInfo& info, const std::vector<ProblemRecord>& records);

// Adds report["baseline"]: problems improved (failed in the baseline, pass now) and degraded,
// matched by id. Fails when the baseline is another benchmark or shares no problem.
void compare_with_baseline(Json& report, const Json& baseline, const std::string& baseline_path);

std::string summary_table(const Json& report);

// A report's metric by name: "pass@1", "pass@5", "pass@10" or "greedy" (greedy pass@1).
double report_metric(const Json& report, const std::string& metric, const std::string& origin);

}  // namespace s0
