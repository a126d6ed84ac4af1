// `s0 collect`: the training data of S0 tuning. Every sampled completion (read from a file, or
// generated now by --model: --samples per problem at temperature 0.7, top-p 0.95) of every training
// problem is checked by execution (HumanEval, in the sandbox) or by its answer (GSM8K, MATH-500);
// at most one correct completion per problem is kept, the first, and written as the JSON lines
// `s0 train` reads: {"prompt": the paper's user message, "completion": the completion as checked}.
// The chat template is applied by the trainer, not here.
#include <iostream>

#include "cli/command.h"
#include "cli/harness_options.h"
#include "io/file.h"
#include "io/json.h"

namespace s0::cli {
namespace {

Runner setup(CLI::App& app) {
  struct Options {
    HarnessOptions harness;
    std::string out;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  // The paper's sampling for training data.
  GenerationFlags sampling;
  sampling.temperature = 0.7;
  sampling.top_p = 0.95;
  sampling.max_new_tokens = 512;
  o->harness.declare(app, "train", sampling, 8);
  app.add_option("--out", o->out, "training JSON lines to write ({\"prompt\", \"completion\"} per line)")->required();
  app.add_flag("--force", o->force, "overwrite --out if it exists (a file; never an input)");
  return [o] {
    CompletionFileRun request = o->harness.request();
    refuse_overlap({"--out", o->out}, o->harness.inputs());
    check_file_output({"--out", o->out}, o->force);
    CheckedRun run = o->harness.run(request);
    if (!run.warning.empty()) std::cerr << "s0: " << run.warning << "\n";
    std::string lines;
    size_t kept = 0, samples = 0, correct = 0;
    for (size_t i = 0; i < run.records.size(); ++i) {
      const ProblemRecord& r = run.records[i];
      samples += r.n;
      correct += r.c;
      if (!r.first_correct) continue;
      lines += Json{{"prompt", run.problems[i].prompt}, {"completion", *r.first_correct}}.dump() + "\n";
      ++kept;
    }
    write_file_atomic(o->out, lines);
    std::cout << "s0 collect: " << benchmark_name(request.benchmark) << ", split " << split_name(request.split) << ": "
              << correct << " of " << samples << " samples correct; kept one for " << kept << " of "
              << run.records.size() << " problems -> " << o->out << "\n";
    if (run.skipped) std::cout << "  (" << run.skipped << " completion lines were for problems outside the split)\n";
    if (kept == 0) std::cerr << "s0: warning: no problem has a correct completion; " << o->out << " is empty\n";
    return 0;
  };
}

S0_COMMAND("collect", "check sampled completions and keep one verified completion per training problem", setup);

}  // namespace
}  // namespace s0::cli
