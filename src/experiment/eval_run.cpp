#include "experiment/eval_run.h"

#include <iostream>

#include "eval/completions.h"
#include "eval/report.h"
#include "io/file.h"

namespace s0 {

Json run_evaluation(const HarnessRequest& harness, const EvalOutputs& o) {
  const CompletionFileRun request = harness.request();
  if (!o.baseline.empty()) load_json_file(o.baseline);  // fail early, before running anything
  return write_evaluation(request, harness.source(), harness.run(request), o);
}

Json write_evaluation(const CompletionFileRun& request, const std::string& source, const CheckedRun& run,
                      const EvalOutputs& o) {
  Json baseline;
  if (!o.baseline.empty()) baseline = load_json_file(o.baseline);
  if (!run.warning.empty()) std::cerr << "s0: " << run.warning << "\n";
  if (!o.completions.empty()) write_file_atomic(o.completions, completion_lines(run.problems, run.samples));
  const ReportInfo info{request.benchmark, request.split, request.data.string(), source, o.label};
  Json report = make_report(info, run.records);
  if (!o.baseline.empty()) compare_with_baseline(report, baseline, o.baseline);
  write_file_atomic(o.report, report.dump(2) + "\n");
  std::cout << summary_table(report);
  if (run.skipped) std::cout << "  (" << run.skipped << " completion lines were for problems outside the split)\n";
  if (!o.completions.empty()) std::cout << "  completions: " << o.completions.string() << "\n";
  std::cout << "  report: " << o.report.string() << "\n";
  return report;
}

}  // namespace s0
