// What a sandboxed run costs as s0 grows: milliseconds per trivial program forked from this
// process directly and through the spawner (eval/sandbox_spawner.h, forked while this process was
// small), with this process holding --parent-mb of touched memory. Runs one at a time, then
// --workers at once (forks from several threads queue on the parent's memory map).
// Usage: sandbox_spawn_bench [--parent-mb=1500] [--runs=40] [--workers=8] [--unsafe]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "eval/executor.h"
#include "eval/sandbox.h"

namespace {

double ms_per_run(const s0::Sandbox& sandbox, int runs, int workers) {
  const std::vector<std::string> programs(static_cast<size_t>(runs), "pass\n");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<s0::RunResult> results = s0::run_programs(sandbox, programs, {}, workers);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (const s0::RunResult& r : results)
    if (!r.ok()) std::fprintf(stderr, "a run failed: %s\n", r.err.c_str());
  return ms / runs;
}

}  // namespace

int main(int argc, char** argv) {
  size_t parent_mb = 1500;
  int runs = 40, workers = 8;
  bool unsafe = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--parent-mb=", 12) == 0)
      parent_mb = std::strtoull(argv[i] + 12, nullptr, 10);
    else if (std::strncmp(argv[i], "--runs=", 7) == 0)
      runs = std::atoi(argv[i] + 7);
    else if (std::strncmp(argv[i], "--workers=", 10) == 0)
      workers = std::atoi(argv[i] + 10);
    else if (std::strcmp(argv[i], "--unsafe") == 0)
      unsafe = true;
    else {
      std::fprintf(stderr, "usage: %s [--parent-mb=N] [--runs=N] [--workers=N] [--unsafe]\n", argv[0]);
      return 2;
    }
  }
  const s0::Sandbox direct = s0::Sandbox::open(unsafe);
  s0::Sandbox spawned = direct;  // the same sandbox, with its spawner forked while we are small
  spawned.start_spawner();
  std::vector<char> ballast(parent_mb << 20);
  std::memset(ballast.data(), 1, ballast.size());  // touched: page tables for all of it
  std::printf("parent: %zu MB touched; %d runs of 'pass' each way (%s)\n", parent_mb, runs,
              unsafe ? "--unsafe-no-sandbox" : "sandboxed");
  for (int w : {1, workers}) {
    const double d = ms_per_run(direct, runs, w);
    const double s = ms_per_run(spawned, runs, w);
    std::printf("workers %2d: direct fork %7.2f ms/run   spawner %7.2f ms/run\n", w, d, s);
  }
  return ballast.empty() || ballast.back() == 1 ? 0 : 1;  // a read, so the memset stays
}
