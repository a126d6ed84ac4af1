// Programs run through the spawner (eval/sandbox_spawner.h) as they run forked from s0 itself:
// the same results, each run its own, a dead spawner a one-line error, and a spawner that stays
// small however large s0 grows after forking it.
#include "eval/sandbox_spawner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "eval/executor.h"
#include "sandbox_test_support.h"

using namespace s0;

using test::short_limits;

namespace {

// A sandbox of its own (so that killing its spawner touches no other test), its spawner started.
Sandbox spawned_sandbox() {
  Sandbox sb = Sandbox::open(false);
  sb.start_spawner();
  return sb;
}

const Sandbox& shared_spawned() {
  static const Sandbox sb = spawned_sandbox();
  return sb;
}

void expect_same(const RunResult& direct, const RunResult& spawned, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(direct.status, spawned.status);
  EXPECT_EQ(direct.exit_code, spawned.exit_code);
  EXPECT_EQ(direct.out, spawned.out);
  EXPECT_EQ(direct.err, spawned.err);
  EXPECT_EQ(direct.out_truncated, spawned.out_truncated);
  EXPECT_EQ(direct.err_truncated, spawned.err_truncated);
  EXPECT_GT(spawned.seconds, 0);
}

// Resident memory of process `pid` in kB, from /proc.
long resident_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// State letter of process `pid` ('Z': a zombie), or 0 when there is no such process.
char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) return 0;
  return line[line.rfind(')') + 2];
}

bool gone_within(pid_t pid, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    const char state = process_state(pid);
    if (state == 0 || state == 'Z' || state == 'X') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST(SandboxSpawner, SameResultsAsARunFromHere) {
  S0_REQUIRE_SANDBOX();
  const Sandbox& spawned = shared_spawned();
  ASSERT_GT(spawned.spawner_pid(), 0);
  EXPECT_EQ(test::sandbox().spawner_pid(), -1);
  SandboxLimits heavy = short_limits();
  heavy.output_limit = 1000;
  const struct {
    std::string what, program;
    SandboxLimits limits;
  } cases[] = {
      {"passing", "import sys\nprint('out')\nprint('err', file=sys.stderr)\n", short_limits()},
      {"failing", "print('before')\nraise ValueError('boom')\n", short_limits()},
      {"timing out", "print('start', flush=True)\nimport time\ntime.sleep(10**9)\n", short_limits(1)},
      {"memory-limited", "x = bytearray(100 * 2**30)\n", short_limits()},
      {"output-heavy", "import sys\nprint('x' * 10_000_000)\nprint('y' * 5000, file=sys.stderr)\n", heavy},
      {"killed by a signal", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n", short_limits()},
  };
  for (const auto& c : cases) {
    RunResult direct = test::sandbox().run(c.program, c.limits);
    RunResult through = spawned.run(c.program, c.limits);
    expect_same(direct, through, c.what);
  }
  RunResult timed_out = spawned.run(cases[2].program, cases[2].limits);
  EXPECT_EQ(timed_out.status, RunStatus::timed_out);
  RunResult truncated = spawned.run(cases[4].program, cases[4].limits);
  EXPECT_TRUE(truncated.out_truncated && truncated.err_truncated);
  EXPECT_EQ(truncated.out.size(), 1000u);
}

TEST(SandboxSpawner, ConcurrentRunsGetTheirOwnResults) {
  S0_REQUIRE_SANDBOX();
  std::vector<std::string> programs;
  for (int i = 0; i < 24; ++i)  // different lengths and finishing orders
    programs.push_back("import time\ntime.sleep(" + std::to_string((i * 7 % 5) * 0.05) + ")\nprint('run " +
                       std::to_string(i) + "' * " + std::to_string(1 + i * 100) + ")\n");
  std::vector<RunResult> results = run_programs(shared_spawned(), programs, short_limits(5), 8);
  ASSERT_EQ(results.size(), programs.size());
  for (int i = 0; i < 24; ++i) {
    std::string expected;
    for (int k = 0; k < 1 + i * 100; ++k) expected += "run " + std::to_string(i);
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].err;
    EXPECT_EQ(results[i].out, expected + "\n") << i;
  }
}

TEST(SandboxSpawner, KilledSpawnerIsAOneLineErrorNotAHang) {
  S0_REQUIRE_SANDBOX();
  Sandbox sb = spawned_sandbox();
  // A run in flight when the spawner dies (found from the host by its marker), and one asked for afterwards.
  const std::string marker = test::unique_marker();
  const std::string sleeper = "import os\nos.execv('/usr/bin/sleep', ['sleep', '" + marker + "'])\n";
  auto in_flight = std::async(std::launch::async, [&] { return sb.run(sleeper, short_limits(20)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::kill(sb.spawner_pid(), SIGKILL), 0);
  ASSERT_EQ(in_flight.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "a run hangs on a dead spawner";
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::future<RunResult> run = attempt == 0 ? std::move(in_flight)
                                              : std::async(std::launch::async, [&] { return sb.run("print(1)\n", short_limits()); });
    ASSERT_EQ(run.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "a run hangs on a dead spawner";
    try {
      run.get();
      ADD_FAILURE() << "a run through a dead spawner returned a result";
    } catch (const std::exception& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("spawner"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  EXPECT_EQ(test::survivors(marker), 0u) << "the program outlived its spawner";
}

TEST(SandboxSpawner, EndsWithTheLastSandboxCopy) {
  S0_REQUIRE_SANDBOX();
  pid_t pid = -1;
  {
    Sandbox sb = spawned_sandbox();
    const Sandbox copy = sb;
    pid = sb.spawner_pid();
    EXPECT_EQ(copy.spawner_pid(), pid);
  }
  EXPECT_EQ(process_state(pid), 0) << "the spawner outlived its sandbox";
}

TEST(SandboxSpawner, DiesWithItsParent) {
  S0_REQUIRE_SANDBOX();
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  // A stand-in for s0: starts a spawner, says its pid, and dies without closing anything.
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    Sandbox sb = spawned_sandbox();
    const pid_t spawner = sb.spawner_pid();
    (void)!::write(report[1], &spawner, sizeof spawner);
    ::kill(::getpid(), SIGKILL);
  }
  ::close(report[1]);
  pid_t spawner = -1;
  ASSERT_EQ(::read(report[0], &spawner, sizeof spawner), static_cast<ssize_t>(sizeof spawner));
  ::close(report[0]);
  ::waitpid(parent, nullptr, 0);
  EXPECT_TRUE(gone_within(spawner, std::chrono::seconds(5))) << "the spawner outlived s0";
}

TEST(SandboxSpawner, StaysSmallWhileTheParentGrows) {
  S0_REQUIRE_SANDBOX();
  Sandbox sb = spawned_sandbox();
  ASSERT_TRUE(sb.run("print(1)\n", short_limits()).ok());
  const long before = resident_kb(sb.spawner_pid());
  ASSERT_GT(before, 0);
  // 1.5 GB touched in this process after the fork: a fork from here would copy its page tables.
  const size_t big = size_t{3} << 29;
  std::vector<char> ballast(big);
  std::memset(ballast.data(), 1, big);
  for (int i = 0; i < 4; ++i) {
    RunResult r = sb.run("print(6 * 7)\n", short_limits());
    EXPECT_TRUE(r.ok()) << r.err;
    EXPECT_EQ(r.out, "42\n");
  }
  EXPECT_GT(resident_kb(::getpid()), static_cast<long>(big / 1024));
  EXPECT_LT(resident_kb(sb.spawner_pid()), before + 64 * 1024) << "the spawner grew with its parent";
  EXPECT_GT(static_cast<int>(ballast[big - 1]), 0);
}
