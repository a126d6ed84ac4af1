// Programs executed per second through the sandbox: the 164 canonical HumanEval solutions, each
// a full sandboxed run (program cgroup, bubblewrap with its mounts and seccomp filter, fresh uid,
// prlimit, python start, test, reaping), with 2 workers as on
// CI's 2 cores. Usage: sandbox_bench [--data=PATH/humaneval.jsonl] [--workers=N] [benchmark flags]
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/executor.h"
#include "eval/humaneval.h"
#include "eval/sandbox.h"

namespace {

// ../shared/datasets next to the checkout, as the tests use it.
std::string g_data = (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "shared" /
                      "datasets" / "humaneval.jsonl")
                         .string();
int g_workers = 2;

// Argument 1: the bubblewrap sandbox; 0: --unsafe-no-sandbox, to show what isolation costs.
void BM_CanonicalHumanEval(benchmark::State& state) {
  std::vector<s0::Problem> problems = s0::load_benchmark(s0::Benchmark::humaneval, g_data);
  std::vector<std::string> programs;
  for (const s0::Problem& p : problems) programs.push_back(s0::humaneval_program(p, p.canonical_solution));
  s0::Sandbox sandbox = s0::Sandbox::open(state.range(0) == 0);
  s0::SandboxLimits limits;
  size_t failed = 0;
  for (auto _ : state) {
    std::vector<s0::RunResult> results = s0::run_programs(sandbox, programs, limits, g_workers);
    for (const s0::RunResult& r : results) failed += !r.ok();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * programs.size()));
  state.counters["failed"] = static_cast<double>(failed);
  state.counters["workers"] = g_workers;
}
BENCHMARK(BM_CanonicalHumanEval)
    ->ArgName("sandboxed")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--data=", 7) == 0)
      g_data = argv[i] + 7;
    else if (std::strncmp(argv[i], "--workers=", 10) == 0)
      g_workers = std::atoi(argv[i] + 10);
    else
      rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
