// `s0 eval`: scores one run (a model with or without an adapter) on a benchmark split. Writes a
// JSON report with a record per problem, greedy pass@1 and pass@k, and the problems improved or
// degraded against a baseline report; prints a one-screen summary. Completions generated with
// --model are saved beside the report, in the --completions format, so that the run can be
// audited and rescored (`s0 eval --completions` on that file gives the same records).
#include "cli/command.h"
#include "cli/harness_options.h"
#include "experiment/eval_run.h"
#include "io/output_path.h"

namespace s0::cli {
namespace {

// The report's name with ".completions.jsonl" in place of its extension: r.json -> r.completions.jsonl.
std::filesystem::path default_completions_out(const std::string& report) {
  return normalize_output_path(report).replace_extension(".completions.jsonl");
}

Runner setup(CLI::App& app) {
  struct Options {
    HarnessOptions harness;
    std::string report, completions_out, baseline, label;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  GenerationFlags greedy;  // greedy pass@1 by default; --samples and --temperature for pass@k
  greedy.max_new_tokens = 512;
  o->harness.declare(app, "eval", greedy, 1);
  app.add_option("--report", o->report, "JSON report to write")->required();
  app.add_option("--completions-out", o->completions_out,
                 "with --model: where to save the generated completions, in the --completions format "
                 "({\"task_id\", \"completion\"} per sample), to audit or rescore the run (default: the report's "
                 "name with .completions.jsonl in place of its extension, e.g. r.json -> r.completions.jsonl)");
  app.add_option("--baseline", o->baseline, "an earlier report to count improved and degraded problems against");
  app.add_option("--label", o->label, "free text naming the run in the report (adapter, seed, ...)");
  app.add_flag("--force", o->force, "overwrite --report (and --completions-out) if it exists");
  return [o] {
    o->harness.request();  // the flags' own errors first, before the outputs'
    if (!o->completions_out.empty() && !o->harness.from_model())
      fail("--completions-out applies to generation with --model; with --completions the outputs are already in a file");
    const std::filesystem::path completions_out =
        !o->harness.from_model()      ? std::filesystem::path()
        : o->completions_out.empty() ? default_completions_out(o->report)
                                     : std::filesystem::path(o->completions_out);
    std::vector<NamedPath> inputs = o->harness.inputs();
    inputs.push_back({"--baseline", o->baseline});
    std::vector<NamedPath> others = inputs;
    others.push_back({"--completions-out", completions_out});
    refuse_overlap({"--report", o->report}, others);
    check_file_output({"--report", o->report}, o->force);
    if (!completions_out.empty()) {
      refuse_overlap({"--completions-out", completions_out}, inputs);
      check_file_output({"--completions-out", completions_out}, o->force);
    }
    run_evaluation(o->harness, {o->report, completions_out, o->baseline, o->label});
    return 0;
  };
}

S0_COMMAND("eval", "score completions on a benchmark split and write a JSON report", setup);

}  // namespace
}  // namespace s0::cli
