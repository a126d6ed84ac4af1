// Issue 9 item 2: memory and processes bounded per run, across all its workers. The old sandbox
// bounded neither /dev/shm, writes under /dev, memfds, nor (for an ordinary user) processes.
// Budgets here are small (64 MiB, a few dozen tasks) so the tests are fast and light.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "eval/executor.h"
#include "eval/sandbox.h"
#include "sandbox_test_support.h"

using namespace s0;
using test::sandbox;
using test::short_limits;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// A sandbox whose programs may use `memory` bytes together.
const Sandbox& small_budget_sandbox() {
  static const Sandbox sb = Sandbox::open(false, RunBudget{96 * kMiB, 4 * (16 + 4)});
  return sb;
}

// Writes `total_mib` MiB in 8 MiB pieces (each under the file-size rlimit) through `open_piece`, a
// Python expression giving a new writable binary file, then prints "wrote".
std::string write_pieces(const std::string& open_piece, int total_mib, double hold_seconds = 0) {
  return "import os, time\nfiles = []\nfor i in range(" + std::to_string(total_mib / 8) +
         "):\n    f = " + open_piece + "\n    f.write(b'x' * (8 << 20))\n    f.flush()\n    files.append(f)\n"
         "time.sleep(" + std::to_string(hold_seconds) + ")\nprint('wrote')\n";
}

}  // namespace

TEST(SandboxBudget, SharedMemoryIsSizeLimited) {
  S0_REQUIRE_SANDBOX();
  // 1 GiB into /dev/shm: the private /dev/shm holds shm_size bytes.
  RunResult shm = sandbox().run(write_pieces("open(f'/dev/shm/piece{i}', 'wb')", 1024), short_limits(5));
  EXPECT_FALSE(shm.ok());
  EXPECT_EQ(shm.out, "");
  EXPECT_NE(shm.err.find("No space left on device"), std::string::npos) << shm.err;
  // Under /dev itself: read-only.
  RunResult dev = sandbox().run(write_pieces("open(f'/dev/piece{i}', 'wb')", 512), short_limits(5));
  EXPECT_FALSE(dev.ok());
  EXPECT_EQ(dev.out, "");
  EXPECT_NE(dev.err.find("Read-only file system"), std::string::npos) << dev.err;
  // And /run.
  RunResult run = sandbox().run(write_pieces("open(f'/run/piece{i}', 'wb')", 64), short_limits(5));
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.out, "");
}

TEST(SandboxBudget, MemfdsAreBounded) {
  S0_REQUIRE_SANDBOX();
  // 1 GiB in memfds, which no rlimit and no tmpfs size sees: the program's cgroup ends it (or,
  // without a cgroup, the seccomp filter refuses memfd_create).
  SandboxLimits l = short_limits(10);
  l.memory = 64 * kMiB;
  auto start = std::chrono::steady_clock::now();
  RunResult r = small_budget_sandbox().run(write_pieces("open(os.memfd_create('m'), 'wb')", 1024), l);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.out, "");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  if (small_budget_sandbox().run_bounded())
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;  // the OOM killer, within the program's cgroup
  else
    EXPECT_NE(r.err.find("PermissionError"), std::string::npos) << r.err;
}

TEST(SandboxBudget, RunMemoryIsSharedByAllWorkers) {
  S0_REQUIRE_SANDBOX();
  // Four programs at once, each holding 48 MiB of memfds for a while: each fits its own 80 MiB, but
  // the run's 96 MiB holds at most one of them.
  SandboxLimits l = short_limits(10);
  l.memory = 80 * kMiB;
  std::vector<std::string> programs(4, write_pieces("open(os.memfd_create('m'), 'wb')", 48, 1.5));
  std::vector<RunResult> results = run_programs(small_budget_sandbox(), programs, l, 4);
  int held = 0;
  for (const RunResult& r : results) held += r.ok() && r.out == "wrote\n";
  EXPECT_LE(held, 1);
  // A program within the budget still runs.
  RunResult small = small_budget_sandbox().run(write_pieces("open(os.memfd_create('m'), 'wb')", 16), l);
  if (small_budget_sandbox().run_bounded()) {
    EXPECT_TRUE(small.ok()) << small.err;
  }
}

TEST(SandboxBudget, ForkBombsOnEveryWorkerAreContained) {
  S0_REQUIRE_SANDBOX();
  // Four fork bombs at once, each re-exec'd with a marker so the host can count their processes.
  std::string marker = test::unique_marker();
  const std::string bomb =
      "import os, sys\nbomb = 'import os, time\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n"
      "        time.sleep(0.01)\\n'\nos.execv(sys.executable, [sys.executable, '-c', bomb, '" + marker + "'])\n";
  SandboxLimits l = short_limits(2);
  std::atomic<bool> done{false};
  size_t most = 0;
  std::thread watcher([&] {
    while (!done) {
      most = std::max(most, test::processes_with_marker(marker));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto start = std::chrono::steady_clock::now();
  std::vector<RunResult> results = run_programs(sandbox(), std::vector<std::string>(4, bomb), l, 4);
  done = true;
  watcher.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  for (const RunResult& r : results) EXPECT_EQ(r.status, RunStatus::timed_out);
  EXPECT_GT(most, 4u);                                              // they did fork
  EXPECT_LE(most, 4u * static_cast<size_t>(l.processes));          // but never past 4 programs' limits
  EXPECT_EQ(test::survivors(marker), 0u);
  if (sandbox().run_bounded()) {
    EXPECT_EQ(sandbox().running_processes(), 0);
  }
}

TEST(SandboxBudget, WorkerCountIsChecked) {
  S0_REQUIRE_SANDBOX();
  EXPECT_GE(max_workers(), 4);
  EXPECT_LE(max_workers(), 64);
  EXPECT_EQ(worker_count(0), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(worker_count(1), 1);
  EXPECT_EQ(worker_count(max_workers()), max_workers());
  EXPECT_THROW(check_workers(0, "--workers"), std::exception);  // the flag has no "default" value
  for (int bad : {-1, max_workers() + 1, 100000}) {
    try {
      check_workers(bad, "--workers");
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("--workers must be between 1 and " + std::to_string(max_workers())),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(run_programs(sandbox(), {"print(1)\n"}, short_limits(), -1), std::exception);
}
