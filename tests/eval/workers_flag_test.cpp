// `--workers` outside 1..max_workers() is one clear error line before anything runs (issue 9, item 2).
#include <gtest/gtest.h>

#include "eval/executor.h"
#include "support/test_support.h"

using namespace s0;

TEST(WorkersFlag, OutOfRangeIsOneClearError) {
  test::TempDir dir;
  test::write_text(dir / "c.jsonl", "{\"task_id\": \"HumanEval/0\", \"completion\": \"    return True\\n\"}\n");
  std::string data = (test::shared_dir() / "datasets" / "humaneval.jsonl").string();
  for (const std::string& bad : std::vector<std::string>{"0", "-1", "100000", std::to_string(max_workers() + 1)}) {
    for (const char* command : {"eval", "collect"}) {
      std::vector<std::string> args = {command, "--benchmark", "humaneval", "--data", data, "--completions",
                                       (dir / "c.jsonl").string(), "--workers", bad};
      if (std::string(command) == "eval") args.insert(args.end(), {"--report", (dir / "r.json").string()});
      else args.insert(args.end(), {"--out", (dir / "o.jsonl").string()});
      test::CliResult r = test::run_s0(args);
      EXPECT_NE(r.status, 0) << command << " --workers " << bad;
      EXPECT_EQ(r.err, "s0: error: --workers must be between 1 and " + std::to_string(max_workers()) +
                           " (four per core, at most 64), got " + bad + "\n")
          << command;
    }
  }
}
