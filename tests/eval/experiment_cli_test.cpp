// `s0 experiment` end to end on the byte-level demo model and a toy HumanEval-format benchmark of
// our own (tests/fixtures/benchmarks/toy_humaneval.jsonl: each completion lands in a raw string,
// and each test asserts a property of its characters that about half of random texts have, so the
// random model solves some problems and not others). Two seeds, two layer subsets, one swept alpha.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "eval/sandbox_test_support.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "support/test_support.h"
#include "support/xml_check.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

const std::string kToy = std::string(S0_SOURCE_DIR) + "/tests/fixtures/benchmarks/toy_humaneval.jsonl";

// The demo's random model (byte tokenizer), with a chat template that is the user message itself.
std::string demo_model(const test::TempDir& dir) {
  const test::CliResult r = test::run_s0({"demo", "--keep", (dir / "demo").string(), "--steps", "1"});
  EXPECT_EQ(r.status, 0) << r.err;
  const fs::path model = dir / "demo" / "model";
  test::write_text(model / "chat_template.jinja",
                   "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %} A:{% endif %}");
  return model.string();
}

// One compute thread: the model is tiny, and beside other tests (ctest -j) threads on every core
// would wait on each other far longer than they compute.
std::vector<std::string> experiment_args(const std::string& model, const fs::path& out,
                                         std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"experiment", "--model", model, "--benchmark", "humaneval", "--data", kToy,
                                   "--out", out.string(), "--seeds", "2", "--samples", "2", "--max-new-tokens", "8",
                                   "--steps", "2", "--lr", "0.05", "--layers", "all", "--layers", "early",
                                   "--alphas", "0.5", "--pass-k", "2", "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The smallest experiment: one seed, the main layers only, no sweep and no pass@k.
std::vector<std::string> one_seed_args(const std::string& model, const fs::path& out,
                                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"experiment", "--model", model, "--benchmark", "humaneval", "--data", kToy,
                                   "--out", out.string(), "--seeds", "1", "--samples", "2", "--max-new-tokens", "8",
                                   "--steps", "2", "--lr", "0.05", "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Runs s0 with S0_EXPERIMENT_STOP_AFTER set (unset when `stop_after` is 0).
test::CliResult run_stopping(const std::vector<std::string>& args, int stop_after) {
  if (stop_after > 0) setenv("S0_EXPERIMENT_STOP_AFTER", std::to_string(stop_after).c_str(), 1);
  test::CliResult r = test::run_s0(args);
  unsetenv("S0_EXPERIMENT_STOP_AFTER");
  return r;
}

size_t lines_of(const fs::path& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

std::string fixed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

double pass1(const fs::path& report) { return load_json_file(report)["greedy_pass_at_1"].get<double>(); }

// The start of a report row over two seeds: its name, the base and the tuned mean ± sample std.
std::string row_start(const std::string& name, double base, double seed1, double seed2) {
  const double mean = (seed1 + seed2) / 2, std = std::fabs(seed1 - seed2) / std::sqrt(2.0);
  return "| " + name + " | " + fixed4(base) + " | " + fixed4(mean) + " ± " + fixed4(std) + " | ";
}

double sampled_pass1(const fs::path& report) { return load_json_file(report)["pass_at_k"]["1"].get<double>(); }

// `args` with --resume fail with one line of error naming `difference` (a record's input that the
// arguments change).
void expect_resume_refused(std::vector<std::string> args, const std::string& difference) {
  args.push_back("--resume");
  const test::CliResult r = test::run_s0(args);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(difference), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace

TEST(ExperimentCli, StoppedAfterEveryStageAndResumedGivesTheReport) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  const fs::path out = dir / "exp";
  // 2 collects, 2 seeds x 2 subsets x train, the greedy evaluations (the base, 2 seeds x 2 subsets,
  // 2 alphas), the sampled ones (the base, 2 seeds).
  const size_t stages = 2 + 4 + 7 + 3;
  test::CliResult r = run_stopping(experiment_args(model, out), 1);
  ASSERT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("stopped after 1 stages"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fewer than 10"), std::string::npos) << r.err;  // 6 training problems at most
  size_t greedy_passes = 0;
  for (size_t made = 1; made < stages; ++made) {
    // Every earlier stage is skipped, exactly one is made; the last run goes on to the report.
    const bool last = made + 1 == stages;
    r = run_stopping(experiment_args(model, out, {"--resume"}), last ? 0 : 1);
    EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), made) << r.out;
    EXPECT_EQ(r.status, last ? 0 : 1) << r.out << r.err;
    greedy_passes += test::occurrences(r.out, "s0 experiment: generating 7 greedy evaluations together\n");
  }
  // Each run that wrote a greedy evaluation generated all 7 (the runs after them, none).
  EXPECT_EQ(greedy_passes, 7u);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(fs::exists(out / "report.md"));

  // The report's rows are the evaluations' own numbers.
  const std::string md = test::read_text(out / "report.md");
  const double base = pass1(out / "base" / "eval.json");
  for (const std::string layers : {"all", "early"}) {
    const std::string row = row_start(layers, base, pass1(out / "seed-1" / ("layers-" + layers) / "eval.json"),
                                      pass1(out / "seed-2" / ("layers-" + layers) / "eval.json"));
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  EXPECT_NE(md.find(row_start("0.5", base, pass1(out / "seed-1" / "layers-all" / "eval-alpha-0.5.json"),
                               pass1(out / "seed-2" / "layers-all" / "eval-alpha-0.5.json"))),
            std::string::npos) << md;
  const size_t n1 = lines_of(out / "seed-1" / "train.jsonl"), n2 = lines_of(out / "seed-2" / "train.jsonl");
  EXPECT_NE(md.find(" (" + std::to_string(n1) + ", " + std::to_string(n2) + ") |"), std::string::npos) << md;
  EXPECT_EQ(test::occurrences(md, "### "), 3u);
  // pass@k from 2 samples: pass@1 only, each seed's report holding 2 samples per problem.
  EXPECT_NE(md.find(row_start("pass@1", sampled_pass1(out / "base" / "eval-sampled.json"),
                               sampled_pass1(out / "seed-1" / "layers-all" / "eval-sampled.json"),
                               sampled_pass1(out / "seed-2" / "layers-all" / "eval-sampled.json"))),
            std::string::npos) << md;
  EXPECT_EQ(md.find("| pass@5 |"), std::string::npos) << md;

  for (const char* chart : {"loss.svg", "state_norm.svg", "pass1.svg", "flips.svg"}) {
    const std::string svg = test::read_text(out / chart);
    EXPECT_EQ(test::xml_problem(svg), "") << chart;
    EXPECT_GE(test::occurrences(svg, "<g class=\"series\""), 1u) << chart;
  }
  // Loss: one line per seed with a point per step.
  const std::string loss = test::read_text(out / "loss.svg");
  EXPECT_EQ(test::occurrences(loss, "<polyline"), 2u);
  const std::regex points("points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(loss.begin(), loss.end(), points); it != std::sregex_iterator(); ++it)
    EXPECT_EQ(test::occurrences((*it)[1].str(), ","), 2u) << (*it)[1].str();

  // Uninterrupted, the experiment opens the model once and shares it between its stages, and
  // generates its 7 greedy evaluations in one pass; every output is the same bytes as the run
  // above, which opened it afresh for each stage (and generated the 7 again for each evaluation it
  // wrote).
  const fs::path whole = dir / "whole";
  r = test::run_s0(experiment_args(model, whole));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("s0 experiment: generating 7 greedy evaluations together\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("s0 experiment: generating 2 collections together\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("s0 experiment: generating 3 sampled evaluations together\n"), std::string::npos) << r.out;
  // Each stage made says how long it took: the 16 stages, and the 3 passes that generate for them.
  EXPECT_EQ(test::occurrences(r.out, ": done in "), stages) << r.out;
  EXPECT_EQ(test::occurrences(r.out, "s0 experiment: generated and checked them in "), 3u) << r.out;
  for (const std::string seed : {"seed-1", "seed-2"}) {
    EXPECT_EQ(test::read_text(whole / seed / "train.jsonl"), test::read_text(out / seed / "train.jsonl")) << seed;
    for (const std::string layers : {"layers-all", "layers-early"})
      for (const std::string file : {"adapter/states.safetensors", "eval.completions.jsonl"})
        EXPECT_EQ(test::read_text(whole / seed / layers / file), test::read_text(out / seed / layers / file))
            << seed << "/" << layers << "/" << file;
    EXPECT_EQ(test::read_text(whole / seed / "layers-all" / "eval-alpha-0.5.completions.jsonl"),
              test::read_text(out / seed / "layers-all" / "eval-alpha-0.5.completions.jsonl"))
        << seed;
  }
  EXPECT_EQ(test::read_text(whole / "base" / "eval.completions.jsonl"),
            test::read_text(out / "base" / "eval.completions.jsonl"));
  for (const std::string sampled : {"base/eval-sampled.completions.jsonl", "seed-1/layers-all/eval-sampled.completions.jsonl",
                                    "seed-2/layers-all/eval-sampled.completions.jsonl"})
    EXPECT_EQ(test::read_text(whole / sampled), test::read_text(out / sampled)) << sampled;

  // Runs generated together get what each gets alone: seed 2's collection is `s0 collect --seed 2`'s,
  // seed 1's sampled evaluation `s0 eval --seed 1`'s with its adapter (each sequence samples from
  // its own run's seed and its index in that run).
  r = test::run_s0({"collect", "--model", model, "--benchmark", "humaneval", "--data", kToy, "--samples", "2",
                    "--temperature", "0.7", "--top-p", "0.95", "--max-new-tokens", "8", "--seed", "2", "--threads",
                    "1", "--out", (dir / "seed2.jsonl").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::read_text(dir / "seed2.jsonl"), test::read_text(whole / "seed-2" / "train.jsonl"));
  r = test::run_s0({"eval", "--model", model, "--adapter", (whole / "seed-1" / "layers-all" / "adapter").string(),
                    "--benchmark", "humaneval", "--data", kToy, "--samples", "2", "--temperature", "0.7", "--top-p",
                    "0.95", "--max-new-tokens", "8", "--seed", "1", "--threads", "1", "--report",
                    (dir / "seed1-sampled.json").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::read_text(dir / "seed1-sampled.completions.jsonl"),
            test::read_text(whole / "seed-1" / "layers-all" / "eval-sampled.completions.jsonl"));

  // An interrupted training: seed 1's main adapter as `s0 train` leaves it after step 1 of 2 (its
  // optimizer beside it), the record gone. Resuming continues from step 2 to the same bits, and
  // the evaluations made from those bits are still done.
  const fs::path adapter = out / "seed-1" / "layers-all" / "adapter";
  const std::string finished = test::read_text(adapter / "states.safetensors");
  fs::remove(out / "seed-1" / "layers-all" / "adapter.made-from.json");
  r = test::run_s0({"train", "--model", model, "--data", (out / "seed-1" / "train.jsonl").string(), "--out",
                    adapter.string(), "--steps", "1", "--lr", "0.05", "--seed", "1", "--force"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_NE(test::read_text(adapter / "states.safetensors"), finished);
  r = test::run_s0(experiment_args(model, out, {"--resume"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("step   2/2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("step   1/2"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_text(adapter / "states.safetensors"), finished);
  EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), stages - 1) << r.out;

  // A stage made from other arguments is never overwritten; a used folder needs --resume.
  std::vector<std::string> three_steps = experiment_args(model, out, {"--resume"});
  *(std::find(three_steps.begin(), three_steps.end(), "--steps") + 1) = "3";
  r = test::run_s0(three_steps);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("was made from other inputs (\"steps\" was 2, now 3)"), std::string::npos) << r.err;
  EXPECT_EQ(test::occurrences(r.err, "\n"), 1u) << r.err;
  r = test::run_s0(experiment_args(model, out));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("already holds files: pass --resume"), std::string::npos) << r.err;
}

TEST(ExperimentCli, TunedEvaluationRefusesAnAdapterThatChangesNothing) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  // The demo's adapter, its states zeroed: it would evaluate the base model under another name. So
  // would a state-offset adapter whose offsets are all zero.
  AdapterFile a = read_adapter(dir / "demo" / "adapter");
  for (auto& [layer, t] : a.states) t = Tensor::zeros(t.shape());
  for (const AdapterVariant variant : {AdapterVariant::s0, AdapterVariant::state_offset}) {
    a.config.variant = variant;
    write_adapter(dir / "zero", a, true);
    const test::CliResult r =
        test::run_s0({"eval", "--model", model, "--adapter", (dir / "zero").string(), "--benchmark", "humaneval",
                      "--data", kToy, "--max-new-tokens", "4", "--report", (dir / "r.json").string()});
    EXPECT_EQ(r.status, 1) << variant_name(variant);
    EXPECT_NE(r.err.find("every state of the adapter is zero"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "r.json"));
  }
  // The demo's own trained adapter is accepted.
  EXPECT_EQ(test::run_s0({"eval", "--model", model, "--adapter", (dir / "demo" / "adapter").string(), "--benchmark",
                          "humaneval", "--data", kToy, "--max-new-tokens", "4", "--report", (dir / "r.json").string()})
                .status,
            0);
}

// `--variant s0 --variant state-offset`: the paper's comparison in one run. Each variant trains its
// own adapters per seed and subset (S0's in the folders of an S0-only experiment, the variant's in
// state-offset-layers-*), with `s0 train --variant`'s code, and has its rows in every table.
TEST(ExperimentCli, StateOffsetVariantBesideS0StoppedAndResumed) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  const fs::path out = dir / "exp";
  const std::vector<std::string> both = {"--variant", "s0", "--variant", "state-offset"};
  std::vector<std::string> resume_both = both;
  resume_both.push_back("--resume");
  // 2 collects; per seed 2 variants x 2 subsets x train; the greedy evaluations (the base, 2 seeds
  // x 2 variants x 2 subsets, 2 alphas per variant), the sampled ones (the base, 2 per variant).
  // Stage 5 trains seed 1's state-offset adapter on all.
  const size_t stages = 2 + 8 + 13 + 5;
  test::CliResult r = run_stopping(experiment_args(model, out, both), 5);
  ASSERT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("stopped after 5 stages"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("s0 experiment: train, seed 1, layers all, state-offset\n"), std::string::npos) << r.out;
  const fs::path offset = out / "seed-1" / "state-offset-layers-all";
  ASSERT_TRUE(fs::exists(offset / "adapter" / "states.safetensors"));
  EXPECT_FALSE(fs::exists(offset / "eval.json"));
  EXPECT_EQ(load_json_file(offset / "adapter" / "config.json")["variant"], "state-offset");
  EXPECT_FALSE(load_json_file(out / "seed-1" / "layers-all" / "adapter" / "config.json").contains("variant"));
  // The variant is in its records; S0's records are those of an experiment without variants.
  const Json record = load_json_file(offset / "adapter.made-from.json");
  EXPECT_EQ(record["stage"], "train, seed 1, layers all, state-offset");
  EXPECT_EQ(record["made_from"]["variant"], "state-offset");
  const Json s0_record = load_json_file(out / "seed-1" / "layers-all" / "adapter.made-from.json");
  EXPECT_FALSE(s0_record["made_from"].contains("variant")) << s0_record.dump();

  // The variant's adapter is exactly what `s0 train --variant state-offset` makes of the seed's data.
  const std::string finished = test::read_text(offset / "adapter" / "states.safetensors");
  const std::vector<std::string> train = {"train", "--model", model, "--data",
                                          (out / "seed-1" / "train.jsonl").string(), "--lr", "0.05", "--seed", "1",
                                          "--variant", "state-offset", "--force"};
  std::vector<std::string> whole = train;
  whole.insert(whole.end(), {"--steps", "2", "--out", (dir / "reference").string()});
  ASSERT_EQ(test::run_s0(whole).status, 0);
  EXPECT_EQ(test::read_text(dir / "reference" / "states.safetensors"), finished);
  EXPECT_NE(finished, test::read_text(out / "seed-1" / "layers-all" / "adapter" / "states.safetensors"));

  // Its training stopped after step 1 (the record gone, the optimizer beside the adapter): resuming
  // continues it as a state-offset run from step 2 to the same bits, then evaluates it.
  fs::remove(offset / "adapter.made-from.json");
  std::vector<std::string> first_step = train;
  first_step.insert(first_step.end(), {"--steps", "1", "--out", (offset / "adapter").string()});
  ASSERT_EQ(test::run_s0(first_step).status, 0);
  ASSERT_NE(test::read_text(offset / "adapter" / "states.safetensors"), finished);
  r = run_stopping(experiment_args(model, out, resume_both), 1);
  ASSERT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), 4u) << r.out;
  EXPECT_NE(r.out.find("step   2/2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("step   1/2"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_text(offset / "adapter" / "states.safetensors"), finished);

  r = run_stopping(experiment_args(model, out, resume_both), 0);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), 5u) << r.out;
  EXPECT_TRUE(fs::exists(offset / "eval.json"));
  for (const std::string seed : {"seed-1", "seed-2"})
    for (const std::string layers : {"all", "early"})
      EXPECT_EQ(load_json_file(out / seed / ("state-offset-layers-" + layers) / "adapter" / "config.json")["variant"],
                "state-offset") << seed << " " << layers;

  // Every table has the variant's rows, from its own evaluations.
  const std::string md = test::read_text(out / "report.md");
  const double base = pass1(out / "base" / "eval.json");
  for (const std::string layers : {"all", "early"})
    for (const std::string prefix : {"", "state-offset-"}) {
      const std::string name = layers + (prefix.empty() ? "" : ", state-offset");
      const std::string row = row_start(name, base, pass1(out / "seed-1" / (prefix + "layers-" + layers) / "eval.json"),
                                        pass1(out / "seed-2" / (prefix + "layers-" + layers) / "eval.json"));
      EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
    }
  EXPECT_NE(md.find(row_start("0.5, state-offset", base,
                              pass1(out / "seed-1" / "state-offset-layers-all" / "eval-alpha-0.5.json"),
                              pass1(out / "seed-2" / "state-offset-layers-all" / "eval-alpha-0.5.json"))),
            std::string::npos) << md;
  EXPECT_NE(md.find(row_start("pass@1, state-offset", sampled_pass1(out / "base" / "eval-sampled.json"),
                              sampled_pass1(out / "seed-1" / "state-offset-layers-all" / "eval-sampled.json"),
                              sampled_pass1(out / "seed-2" / "state-offset-layers-all" / "eval-sampled.json"))),
            std::string::npos) << md;
  EXPECT_EQ(test::occurrences(md, "### "), 3u);
  EXPECT_EQ(test::occurrences(md, "| early, state-offset |"), 1u) << md;  // the sweeps cover main subsets only
  EXPECT_NE(md.find("## Problems fixed and broken (all, state-offset)"), std::string::npos) << md;
  // The charts draw both variants' main configurations: a loss line per seed and variant.
  const std::string loss = test::read_text(out / "loss.svg");
  EXPECT_EQ(test::occurrences(loss, "<polyline"), 4u);
  EXPECT_NE(loss.find("data-name=\"seed 2 (all, state-offset)\""), std::string::npos) << loss;
  EXPECT_NE(test::read_text(out / "pass1.svg").find(">layers early, state-offset</text>"), std::string::npos);
  EXPECT_EQ(test::occurrences(test::read_text(out / "state_norm.svg"), "<g class=\"series\""), 4u);
  // Every stage recorded: all done on resuming.
  r = test::run_s0(experiment_args(model, out, resume_both));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), stages) << r.out;

  // Without the variant the same folder resumes as an S0-only experiment: every S0 stage is done
  // and the report drops the variant's rows (as leaving out a layer subset drops its row).
  r = test::run_s0(experiment_args(model, out, {"--resume"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), 2u + 4 + 7 + 3) << r.out;
  EXPECT_EQ(test::occurrences(r.out, "s0 experiment: "), 2u + 4 + 7 + 3 + 1) << r.out;  // and the report's line
  EXPECT_EQ(test::read_text(out / "report.md").find("state-offset"), std::string::npos);

  // A variant's folder holding S0's adapter (a folder moved by hand) is never taken for the variant's.
  fs::remove_all(offset / "adapter");
  fs::copy(out / "seed-1" / "layers-all" / "adapter", offset / "adapter");
  fs::copy_file(out / "seed-1" / "layers-all" / "adapter.made-from.json", offset / "adapter.made-from.json",
                fs::copy_options::overwrite_existing);
  r = test::run_s0(experiment_args(model, out, resume_both));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("not the record of stage \"train, seed 1, layers all, state-offset\""), std::string::npos)
      << r.err;
  EXPECT_EQ(test::occurrences(r.err, "\n"), 1u) << r.err;
}

// A variant that does not exist, or one given twice, is one line before anything is made.
TEST(ExperimentCli, BadVariantsAreOneLineErrors) {
  test::TempDir dir;
  const fs::path model = dir / "model", out = dir / "exp";
  fs::create_directories(model);  // the checks come before the model is read
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--variant", "foo"}, "s0: error: --variant: unknown variant \"foo\" (expected s0 or state-offset)\n"},
      {{"--variant", "state-offset", "--variant", "state-offset"},
       "s0: error: --variant state-offset is given more than once\n"},
      {{"--layers", "early"}, "s0: error: --layers early is given more than once\n"},  // beside "all", "early"
  };
  for (const auto& [extra, error] : cases) {
    const test::CliResult r = test::run_s0(experiment_args(model.string(), out, extra));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.err, error);
    EXPECT_FALSE(fs::exists(out));
  }
}

// --state-dtype bf16 and --kv-dtype bf16 change what is generated, so every stage records them:
// resuming the folder without them is a one-line error naming one, and with them the experiment
// goes on to its report.
TEST(ExperimentCli, Bf16CachesAreInEveryStagesRecord) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  const fs::path out = dir / "exp";
  const std::vector<std::string> args = one_seed_args(model, out);
  std::vector<std::string> bf16 = one_seed_args(model, out, {"--state-dtype", "bf16", "--kv-dtype", "bf16"});
  const test::CliResult collected = run_stopping(bf16, 1);
  ASSERT_EQ(collected.status, 1) << collected.err;
  const Json record = load_json_file(out / "seed-1" / "train.jsonl.made-from.json");
  EXPECT_EQ(record["made_from"]["state_dtype"], "bf16") << record.dump();
  EXPECT_EQ(record["made_from"]["kv_dtype"], "bf16") << record.dump();
  expect_resume_refused(args, "\"kv_dtype\" was \"bf16\", now absent");
  bf16.push_back("--resume");
  const test::CliResult done = test::run_s0(bf16);
  ASSERT_EQ(done.status, 0) << done.err;
  const Json base = load_json_file(out / "base" / "eval.json.made-from.json")["made_from"];
  EXPECT_EQ(base["state_dtype"], "bf16");
  EXPECT_EQ(base["kv_dtype"], "bf16");
  EXPECT_TRUE(fs::exists(out / "report.md"));
}

// --dtype changes every stage's numbers, so a given one is in every stage's record: resuming the
// folder without it is a one-line error naming it, and with it the experiment goes on (here one
// more stage: the training, after its collection is taken as done).
TEST(ExperimentCli, MatrixDtypeIsInEveryStagesRecord) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  const fs::path out = dir / "exp";
  const std::vector<std::string> args = one_seed_args(model, out);
  std::vector<std::string> bf16 = one_seed_args(model, out, {"--dtype", "bf16"});
  const test::CliResult collected = run_stopping(bf16, 1);
  ASSERT_EQ(collected.status, 1) << collected.err;
  EXPECT_EQ(load_json_file(out / "seed-1" / "train.jsonl.made-from.json")["made_from"]["dtype"], "bf16");
  expect_resume_refused(args, "\"dtype\" was \"bf16\", now absent");
  bf16.push_back("--resume");
  const test::CliResult trained = run_stopping(bf16, 1);
  ASSERT_EQ(trained.status, 1) << trained.err;
  EXPECT_NE(trained.out.find("collect, seed 1: done earlier"), std::string::npos) << trained.out;
  const Json record = load_json_file(out / "seed-1" / "layers-all" / "adapter.made-from.json");
  EXPECT_EQ(record["made_from"]["dtype"], "bf16") << record.dump();
}

// --quiet: no stage shows progress (sampling, the sandbox's checks, training), on a pipe where
// each would otherwise write its final line; the stages' own lines stay on stdout.
TEST(ExperimentCli, QuietShowsNoProgress) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  for (const bool quiet : {false, true}) {
    const fs::path out = dir / (quiet ? "quiet" : "shown");
    std::vector<std::string> args = one_seed_args(model, out, {"--variant", "state-offset"});
    if (quiet) args.push_back("--quiet");
    const test::CliResult r = test::run_s0(args);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("s0 experiment: train, seed 1, layers all, state-offset\n"), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(out / "report.md"));
    for (const std::string progress : {"generate: 12/12 completions done in ", "check: 12/12 programs done in ",
                                       "train: 2/2 steps done in "})
      EXPECT_EQ(r.err.find(progress) != std::string::npos, !quiet) << progress << "\n" << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  }
}
