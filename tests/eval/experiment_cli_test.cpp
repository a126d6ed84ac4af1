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

}  // namespace

TEST(ExperimentCli, StoppedAfterEveryStageAndResumedGivesTheReport) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  const std::string model = demo_model(dir);
  const fs::path out = dir / "exp";
  // 2 collects, the base evaluations (greedy, sampled), 2 seeds x 2 subsets x (train, evaluate), 2
  // alpha evaluations, 2 sampled evaluations.
  const size_t stages = 2 + 2 + 8 + 2 + 2;
  test::CliResult r = run_stopping(experiment_args(model, out), 1);
  ASSERT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("stopped after 1 stages"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fewer than 10"), std::string::npos) << r.err;  // 6 training problems at most
  for (size_t made = 1; made < stages; ++made) {
    // Every earlier stage is skipped, exactly one is made; the last run goes on to the report.
    const bool last = made + 1 == stages;
    r = run_stopping(experiment_args(model, out, {"--resume"}), last ? 0 : 1);
    EXPECT_EQ(test::occurrences(r.out, ": done earlier ("), made) << r.out;
    EXPECT_EQ(r.status, last ? 0 : 1) << r.out << r.err;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(fs::exists(out / "report.md"));

  // The report's rows are the evaluations' own numbers.
  const std::string md = test::read_text(out / "report.md");
  const double base = pass1(out / "base" / "eval.json");
  for (const std::string layers : {"all", "early"}) {
    const double a = pass1(out / "seed-1" / ("layers-" + layers) / "eval.json");
    const double b = pass1(out / "seed-2" / ("layers-" + layers) / "eval.json");
    const double mean = (a + b) / 2, std = std::fabs(a - b) / std::sqrt(2.0);
    const std::string row = "| " + layers + " | " + fixed4(base) + " | " + fixed4(mean) + " ± " + fixed4(std) + " | ";
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  const double a5 = pass1(out / "seed-1" / "layers-all" / "eval-alpha-0.5.json");
  const double b5 = pass1(out / "seed-2" / "layers-all" / "eval-alpha-0.5.json");
  EXPECT_NE(md.find("| 0.5 | " + fixed4(base) + " | " + fixed4((a5 + b5) / 2) + " ± "), std::string::npos) << md;
  const size_t n1 = lines_of(out / "seed-1" / "train.jsonl"), n2 = lines_of(out / "seed-2" / "train.jsonl");
  EXPECT_NE(md.find(" (" + std::to_string(n1) + ", " + std::to_string(n2) + ") |"), std::string::npos) << md;
  EXPECT_EQ(test::occurrences(md, "### "), 3u);
  // pass@k from 2 samples: pass@1 only, each seed's report holding 2 samples per problem.
  const double s1 = load_json_file(out / "seed-1" / "layers-all" / "eval-sampled.json")["pass_at_k"]["1"].get<double>();
  const double s2 = load_json_file(out / "seed-2" / "layers-all" / "eval-sampled.json")["pass_at_k"]["1"].get<double>();
  const double sb = load_json_file(out / "base" / "eval-sampled.json")["pass_at_k"]["1"].get<double>();
  EXPECT_NE(md.find("| pass@1 | " + fixed4(sb) + " | " + fixed4((s1 + s2) / 2) + " ± "), std::string::npos) << md;
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

  // Uninterrupted, the experiment opens the model once and shares it between its stages; every
  // output is the same bytes as the run above, which opened it afresh for each stage.
  const fs::path whole = dir / "whole";
  r = test::run_s0(experiment_args(model, whole));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string seed : {"seed-1", "seed-2"}) {
    EXPECT_EQ(test::read_text(whole / seed / "train.jsonl"), test::read_text(out / seed / "train.jsonl")) << seed;
    for (const std::string layers : {"layers-all", "layers-early"})
      for (const std::string file : {"adapter/states.safetensors", "eval.completions.jsonl"})
        EXPECT_EQ(test::read_text(whole / seed / layers / file), test::read_text(out / seed / layers / file))
            << seed << "/" << layers << "/" << file;
  }
  EXPECT_EQ(test::read_text(whole / "base" / "eval.completions.jsonl"),
            test::read_text(out / "base" / "eval.completions.jsonl"));

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
  // The demo's adapter, its states zeroed: it would evaluate the base model under another name.
  AdapterFile a = read_adapter(dir / "demo" / "adapter");
  for (auto& [layer, t] : a.states) t = Tensor::zeros(t.shape());
  write_adapter(dir / "zero", a, true);
  const test::CliResult r =
      test::run_s0({"eval", "--model", model, "--adapter", (dir / "zero").string(), "--benchmark", "humaneval",
                    "--data", kToy, "--max-new-tokens", "4", "--report", (dir / "r.json").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("every state of the adapter is zero"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "r.json"));
  // The demo's own trained adapter is accepted.
  EXPECT_EQ(test::run_s0({"eval", "--model", model, "--adapter", (dir / "demo" / "adapter").string(), "--benchmark",
                          "humaneval", "--data", kToy, "--max-new-tokens", "4", "--report", (dir / "r.json").string()})
                .status,
            0);
}
