// `s0 collect`: the training data of S0 tuning. Every sampled completion (read from a file, or
// generated now by --model: --samples per problem at temperature 0.7, top-p 0.95) of every training
// problem is checked by execution (HumanEval, in the sandbox) or by its answer (GSM8K, MATH-500);
// at most one correct completion per problem is kept, the first, and written as the JSON lines
// `s0 train` reads: {"prompt": the paper's user message, "completion": the completion as checked}.
// The chat template is applied by the trainer, not here.
#include "cli/command.h"
#include "cli/harness_options.h"
#include "eval/protocol.h"
#include "experiment/collect_run.h"

namespace s0::cli {
namespace {

Runner setup(CLI::App& app) {
  struct Options {
    HarnessOptions harness;
    std::string out;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  // The paper's sampling for training data (the benchmark is not known yet: the count stays 8).
  const PaperSampling paper = paper_sampling(Benchmark::humaneval);
  GenerationFlags sampling;
  sampling.temperature = paper.temperature;
  sampling.top_p = paper.top_p;
  sampling.max_new_tokens = paper.max_new_tokens;
  o->harness.declare(app, "train", sampling, 8);
  app.add_option("--out", o->out, "training JSON lines to write ({\"prompt\", \"completion\"} per line)")->required();
  app.add_flag("--force", o->force, "overwrite --out if it exists (a file; never an input)");
  return [o] {
    o->harness.request();  // the flags' own errors first, before the output's
    refuse_overlap({"--out", o->out}, o->harness.inputs());
    check_file_output({"--out", o->out}, o->force);
    collect_training_data(o->harness, o->out);
    return 0;
  };
}

S0_COMMAND("collect", "check sampled completions and keep one verified completion per training problem", setup);

}  // namespace
}  // namespace s0::cli
