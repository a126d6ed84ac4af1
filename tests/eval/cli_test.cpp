// `s0 collect`, `s0 eval` and `s0 eval-stats` as a user runs them, on small data files cut from
// the shared benchmarks so that the programs stay few.
#include <gtest/gtest.h>

#include <fstream>

#include "io/json.h"
#include "support/test_support.h"

using namespace s0;
using test::run_s0;
namespace fs = std::filesystem;

namespace {

// The first `n` lines of a shared dataset, written into `dir`.
std::string head_of(const test::TempDir& dir, const std::string& name, size_t n) {
  std::ifstream in(test::shared_dir() / "datasets" / name);
  std::string line, text;
  for (size_t i = 0; i < n && std::getline(in, line); ++i) text += line + "\n";
  std::string path = (dir / name).string();
  test::write_text(path, text);
  return path;
}

std::vector<Json> read_lines(const std::string& path) {
  std::vector<Json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) rows.push_back(Json::parse(line));
  return rows;
}

std::string line(const Json& j) { return j.dump() + "\n"; }

}  // namespace

TEST(Cli, CollectKeepsTheFirstCorrectCompletionPerProblem) {
  test::TempDir dir;
  std::string data = head_of(dir, "humaneval.jsonl", 3);
  std::vector<Json> problems = read_lines(data);
  std::string completions;
  // Problem 0: wrong, then right twice (keep the first right one, cleaned of its fence).
  completions += line({{"task_id", "HumanEval/0"}, {"completion", "    return None\n"}});
  completions += line({{"task_id", "HumanEval/0"},
                       {"completion", "```python\n" + problems[0]["canonical_solution"].get<std::string>() + "```"}});
  completions += line({{"index", 0}, {"completion", problems[0]["canonical_solution"].get<std::string>() + "\n"}});
  // Problem 1: never right. Problem 2: right.
  completions += line({{"index", 1}, {"completion", "    raise ValueError\n"}});
  completions += line({{"index", 2}, {"completion", problems[2]["canonical_solution"]}});
  test::write_text(dir / "c.jsonl", completions);
  std::string out = (dir / "train.jsonl").string();
  std::vector<std::string> args = {"collect",
                                   "--benchmark",
                                   "humaneval",
                                   "--data",
                                   data,
                                   "--split",
                                   "all",
                                   "--completions",
                                   (dir / "c.jsonl").string(),
                                   "--out",
                                   out};
  test::CliResult r = run_s0(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("kept one for 2 of 3 problems"), std::string::npos) << r.out;
  std::vector<Json> rows = read_lines(out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].size(), 2u);  // exactly prompt and completion: `s0 train` rejects other fields
  EXPECT_EQ(rows[0]["prompt"],
            "Complete the following Python function. Only output the function body, no explanation. No markdown.\n\n" +
                problems[0]["prompt"].get<std::string>());
  EXPECT_EQ(rows[0]["completion"], problems[0]["canonical_solution"]);
  EXPECT_EQ(rows[1]["completion"], problems[2]["canonical_solution"]);

  // An existing output is kept unless --force.
  test::CliResult again = run_s0(args);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("already exists (pass --force to overwrite)"), std::string::npos) << again.err;
  args.push_back("--force");
  EXPECT_EQ(run_s0(args).status, 0);
}

// The sandboxed checks report progress on stderr as the other long stages do (a pipe: the final
// line; stdout keeps the command's summary), for collect and eval alike; --quiet drops it.
TEST(Cli, SandboxChecksShowProgressUnlessQuiet) {
  test::TempDir dir;
  const std::string data = head_of(dir, "humaneval.jsonl", 2);
  const std::vector<Json> problems = read_lines(data);
  std::string completions;
  for (int i = 0; i < 2; ++i) {
    completions += line({{"index", i}, {"completion", problems[i]["canonical_solution"]}});
    completions += line({{"index", i}, {"completion", "    return None\n"}});
  }
  test::write_text(dir / "c.jsonl", completions);
  const std::vector<std::string> common = {"--benchmark", "humaneval", "--data", data, "--split", "all",
                                           "--completions", (dir / "c.jsonl").string()};
  for (const bool quiet : {false, true}) {
    for (const std::string command : {"collect", "eval"}) {
      std::vector<std::string> args = {command};
      args.insert(args.end(), common.begin(), common.end());
      const std::string out = (dir / (command + (quiet ? "-quiet" : "") + ".json")).string();
      args.insert(args.end(), {command == "collect" ? "--out" : "--report", out});
      if (quiet) args.push_back("--quiet");
      const test::CliResult r = run_s0(args);
      ASSERT_EQ(r.status, 0) << command << ": " << r.err;
      EXPECT_EQ(r.out.find("check: "), std::string::npos) << command << ": " << r.out;
      if (quiet) {
        EXPECT_EQ(r.err.find("check: "), std::string::npos) << command << " --quiet: " << r.err;
        continue;
      }
      EXPECT_NE(r.err.find("check: 4/4 programs done in "), std::string::npos) << command << ": " << r.err;
      EXPECT_EQ(r.err.find('\r'), std::string::npos) << command << ": " << r.err;
    }
  }
}

TEST(Cli, CollectGsm8kTrainSplitIsTheFirst200) {
  test::TempDir dir;
  std::string data = (test::shared_dir() / "datasets" / "gsm8k_train.jsonl").string();
  std::string completions;
  for (int i = 0; i < 210; ++i) completions += line({{"index", i}, {"completion", "so #### -1"}});
  completions += line({{"index", 7}, {"completion", "<think>#### -1</think>\nThe answer is 3."}});
  test::write_text(dir / "c.jsonl", completions);
  test::CliResult r = run_s0({"collect", "--benchmark", "gsm8k", "--data", data, "--completions",
                              (dir / "c.jsonl").string(), "--out", (dir / "t.jsonl").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("kept one for 0 of 200 problems"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10 completion lines were for problems outside the split"), std::string::npos) << r.out;
}

TEST(Cli, EvalWritesReportAndComparesWithBaseline) {
  test::TempDir dir;
  std::string data = head_of(dir, "math500.jsonl", 4);
  std::vector<Json> problems = read_lines(data);
  auto boxed = [](const std::string& s) { return "The answer is $\\boxed{" + s + "}$."; };
  std::string base, run;
  for (int i = 0; i < 4; ++i) {
    std::string gold = problems[i]["answer"];
    base += line({{"index", i}, {"completion", boxed(i < 2 ? gold : "7.5")}});
    run += line({{"task_id", problems[i]["unique_id"]}, {"completion", boxed(i == 0 ? "7.5" : gold)}});
  }
  test::write_text(dir / "base.jsonl", base);
  test::write_text(dir / "run.jsonl", run);
  std::string base_report = (dir / "base.json").string(), report = (dir / "run.json").string();
  test::CliResult b = run_s0({"eval", "--benchmark", "math500", "--data", data, "--split", "all", "--completions",
                              (dir / "base.jsonl").string(), "--report", base_report});
  ASSERT_EQ(b.status, 0) << b.err;
  test::CliResult r = run_s0({"eval", "--benchmark", "math500", "--data", data, "--split", "all", "--completions",
                              (dir / "run.jsonl").string(), "--report", report, "--baseline", base_report, "--label",
                              "adapter seed 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("greedy pass@1    0.7500  (3/4)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("improved 2, degraded 1"), std::string::npos) << r.out;
  Json j = load_json_file(report);
  EXPECT_EQ(j["benchmark"], "math500");
  EXPECT_EQ(j["label"], "adapter seed 1");
  EXPECT_DOUBLE_EQ(j["pass_at_k"]["1"].get<double>(), 0.75);
  EXPECT_FALSE(j["pass_at_k"].contains("5"));  // one sample per problem
  ASSERT_EQ(j["records"].size(), 4u);
  EXPECT_EQ(j["records"][0]["prediction"], "7.5");
  EXPECT_EQ(j["records"][0]["passed"], false);
  EXPECT_EQ(j["records"][1]["gold"], problems[1]["answer"]);
  EXPECT_EQ(j["baseline"]["degraded_ids"], Json::array({problems[0]["unique_id"]}));
}

TEST(Cli, EvalPassAtKFromSamples) {
  test::TempDir dir;
  std::string data = head_of(dir, "gsm8k_test.jsonl", 2);
  std::string completions;
  // Problem 0 (gold 18): 3 of 10 samples right; problem 1 (gold 3): all 10 right.
  for (int s = 0; s < 10; ++s) {
    completions += line({{"index", 0}, {"completion", s < 3 ? "#### 18" : "#### 17"}});
    completions += line({{"index", 1}, {"completion", "#### 3"}});
  }
  test::write_text(dir / "c.jsonl", completions);
  std::string report = (dir / "r.json").string();
  test::CliResult r = run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions",
                              (dir / "c.jsonl").string(), "--report", report});
  ASSERT_EQ(r.status, 0) << r.err;
  Json j = load_json_file(report);
  EXPECT_NEAR(j["pass_at_k"]["1"].get<double>(), (0.3 + 1.0) / 2, 1e-12);
  EXPECT_NEAR(j["pass_at_k"]["5"].get<double>(), (1 - 21.0 / 252.0 + 1.0) / 2, 1e-12);
  EXPECT_NEAR(j["pass_at_k"]["10"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(j["records"][0]["c"], 3);
  EXPECT_EQ(j["records"][0]["n"], 10);
}

TEST(Cli, EvalStatsMeanStdAndWelch) {
  test::TempDir dir;
  auto write_report = [&](const std::string& name, double pass1) {
    Json r = {
        {"benchmark", "humaneval"}, {"split", "eval"}, {"pass_at_k", {{"1", pass1}}}, {"greedy_pass_at_1", pass1}};
    test::write_text(dir / name, r.dump());
    return (dir / name).string();
  };
  std::vector<std::string> args = {"eval-stats",          "--reports",           write_report("a1", 1),
                                   write_report("a2", 2), write_report("a3", 3), "--vs",
                                   write_report("b1", 4), write_report("b2", 5), write_report("b3", 6)};
  test::CliResult r = run_s0(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("reports      3  2.0000 +/- 1.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vs           3  5.0000 +/- 1.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Welch t = -3.674, df = 4.00, two-sided p = 0.02131"), std::string::npos) << r.out;
  test::CliResult bad = run_s0({"eval-stats", "--reports", write_report("c1", 1), "--metric", "pass@5"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("report has no pass@5"), std::string::npos) << bad.err;
}

TEST(Cli, ClearErrors) {
  test::TempDir dir;
  std::string data = head_of(dir, "gsm8k_test.jsonl", 3);
  std::string report = (dir / "r.json").string();
  test::CliResult no_completions = run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--report", report});
  EXPECT_EQ(no_completions.status, 1);
  EXPECT_NE(no_completions.err.find("give --completions FILE (the model's outputs) or --model DIR"), std::string::npos);
  EXPECT_EQ(std::count(no_completions.err.begin(), no_completions.err.end(), '\n'), 1);

  test::write_text(dir / "c.jsonl",
                   line({{"index", 0}, {"completion", "#### 1"}}) + line({{"index", 9}, {"completion", "x"}}));
  test::CliResult unknown = run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions",
                                    (dir / "c.jsonl").string(), "--report", report});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("c.jsonl line 2: index 9 is not a problem of the data file"), std::string::npos)
      << unknown.err;

  test::write_text(dir / "d.jsonl", line({{"index", 0}, {"completion", "#### 1"}}));
  test::CliResult missing = run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions",
                                    (dir / "d.jsonl").string(), "--report", report});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no completion for gsm8k/1 and 1 other problems"), std::string::npos) << missing.err;

  test::CliResult model = run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions",
                                  (dir / "d.jsonl").string(), "--report", report, "--adapter", dir.path().string()});
  EXPECT_EQ(model.status, 1);
  EXPECT_NE(model.err.find("--adapter applies to generation with --model"), std::string::npos);
  test::CliResult device = run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions",
                                   (dir / "d.jsonl").string(), "--report", report, "--device", "cpu"});
  EXPECT_EQ(device.status, 1);
  EXPECT_NE(device.err.find("--device applies to generation with --model"), std::string::npos) << device.err;
  EXPECT_FALSE(std::filesystem::exists(report));
}

// No output may overwrite an input, even with --force, and --force never replaces a folder.
TEST(Cli, OutputsNeverOverwriteInputs) {
  test::TempDir dir;
  std::string data = head_of(dir, "gsm8k_test.jsonl", 2);
  const std::string data_text = test::read_text(data);
  const std::string completions = line({{"index", 0}, {"completion", "#### 18"}}) + line({{"index", 1}, {"completion", "#### 3"}});
  test::write_text(dir / "c.jsonl", completions);
  const std::string c = (dir / "c.jsonl").string(), d = dir.path().string();
  auto eval = [&](const std::string& report) {
    return run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions", c, "--report", report, "--force"});
  };
  auto collect = [&](const std::string& out) {
    return run_s0({"collect", "--benchmark", "gsm8k", "--data", data, "--split", "all", "--completions", c, "--out", out,
                   "--force"});
  };
  auto expect_refused = [](const test::CliResult& r, const std::string& fragment) {
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  expect_refused(eval(c), "--report " + c + " is the same path as --completions " + c);
  expect_refused(eval(d + "/./c.jsonl"), "is the same path as --completions");
  expect_refused(eval(data), "is the same path as --data");
  expect_refused(collect(data), "--out " + data + " is the same path as --data");
  expect_refused(collect(d + "/../" + dir.path().filename().string() + "/c.jsonl"), "is the same path as --completions");
  fs::create_directories(dir / "folder");
  expect_refused(eval((dir / "folder").string()), "exists and is not a regular file (given to --report); refusing to replace it");
  EXPECT_EQ(test::read_text(c), completions);
  EXPECT_EQ(test::read_text(data), data_text);
  EXPECT_EQ(eval((dir / "r.json").string()).status, 0);
  expect_refused(run_s0({"eval", "--benchmark", "gsm8k", "--data", data, "--completions", c, "--report",
                         (dir / "r2.json").string(), "--completions-out", (dir / "x.jsonl").string()}),
                 "--completions-out applies to generation with --model");
}
