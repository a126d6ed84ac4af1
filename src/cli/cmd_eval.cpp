// `s0 eval`: scores one run (a model with or without an adapter) on a benchmark split. Writes a
// JSON report with a record per problem, greedy pass@1 and pass@k, and the problems improved or
// degraded against a baseline report; prints a one-screen summary.
#include <iostream>

#include "cli/command.h"
#include "cli/harness_options.h"
#include "eval/report.h"
#include "io/file.h"

namespace s0::cli {
namespace {

Runner setup(CLI::App& app) {
  struct Options {
    HarnessOptions harness;
    std::string report, baseline, label;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  GenerationFlags greedy;  // greedy pass@1 by default; --samples and --temperature for pass@k
  greedy.max_new_tokens = 512;
  o->harness.declare(app, "eval", greedy, 1);
  app.add_option("--report", o->report, "JSON report to write")->required();
  app.add_option("--baseline", o->baseline, "an earlier report to count improved and degraded problems against");
  app.add_option("--label", o->label, "free text naming the run in the report (adapter, seed, ...)");
  app.add_flag("--force", o->force, "overwrite --report if it exists");
  return [o] {
    CompletionFileRun request = o->harness.request();
    check_output_path(o->report, o->force);
    Json baseline;
    if (!o->baseline.empty()) baseline = load_json_file(o->baseline);  // fail early, before running anything
    CheckedRun run = o->harness.run(request);
    if (!run.warning.empty()) std::cerr << "s0: " << run.warning << "\n";
    ReportInfo info{request.benchmark, request.split, o->harness.data, o->harness.source(), o->label};
    Json report = make_report(info, run.records);
    if (!o->baseline.empty()) compare_with_baseline(report, baseline, o->baseline);
    write_file_atomic(o->report, report.dump(2) + "\n");
    std::cout << summary_table(report);
    if (run.skipped) std::cout << "  (" << run.skipped << " completion lines were for problems outside the split)\n";
    std::cout << "  report: " << o->report << "\n";
    return 0;
  };
}

S0_COMMAND("eval", "score completions on a benchmark split and write a JSON report", setup);

}  // namespace
}  // namespace s0::cli
