// The sandbox against the programs the issue names: each must fail cleanly, quickly, and leave
// the host untouched. Limits are short so the suite stays fast.
#include "eval/sandbox.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "eval/executor.h"
#include "io/json.h"
#include "sandbox_test_support.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

using test::sandbox;
using test::short_limits;

namespace {

// Forks a child that leaves the program's session and execs `sleep MARKER` (found from the host by
// its command line), then exits at once: the run must end quickly and take the child with it.
std::string daemonising_program(const std::string& marker) {
  return "import os\nif os.fork() == 0:\n    os.setsid()\n    os.execv('/usr/bin/sleep', ['sleep', '" + marker +
         "'])\nprint('parent done')\n";
}

}  // namespace

TEST(Sandbox, RunsProgramsAndCapturesOutput) {
  S0_REQUIRE_SANDBOX();
  RunResult r = sandbox().run("import sys\nprint('out')\nprint('err', file=sys.stderr)\n", short_limits());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  RunResult bad = sandbox().run("raise ValueError('boom')\n", short_limits());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("ValueError: boom"), std::string::npos);
  EXPECT_TRUE(sandbox().isolated());
}

TEST(Sandbox, OutputIsTruncated) {
  S0_REQUIRE_SANDBOX();
  SandboxLimits l = short_limits();
  l.output_limit = 1000;
  RunResult r = sandbox().run("print('x' * 10_000_000)\n", l);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.out_truncated);
  EXPECT_FALSE(r.err_truncated);
}

TEST(Sandbox, WritesOutsideThePrivateDirectoryFail) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  std::filesystem::path cwd_target = fs::path(test::checkout_dir()) / "s0-sandbox-escape.txt";
  for (const std::filesystem::path& target :
       {dir / "escape.txt", cwd_target, std::filesystem::path("/etc/s0-sandbox-escape")}) {
    RunResult r = sandbox().run("open(" + Json(target.string()).dump() + ", 'w').write('x')\n", short_limits());
    EXPECT_FALSE(r.ok()) << target;
    EXPECT_TRUE(r.err.find("Error") != std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(target)) << target;
  }
  // The private directory itself is writable, and is gone afterwards.
  RunResult ok = sandbox().run("open('mine.txt', 'w').write('x')\nprint(open('mine.txt').read())\n", short_limits());
  EXPECT_TRUE(ok.ok()) << ok.err;
  EXPECT_EQ(ok.out, "x\n");
}

TEST(Sandbox, LargeFilesAreCut) {
  S0_REQUIRE_SANDBOX();
  SandboxLimits l = short_limits();
  l.file_size = 1 << 20;
  RunResult r = sandbox().run("open('big', 'wb').write(b'x' * (8 << 20))\n", l);
  EXPECT_FALSE(r.ok());
}

TEST(Sandbox, ForkBombIsContained) {
  S0_REQUIRE_SANDBOX();
  std::string marker = test::unique_marker();
  auto start = std::chrono::steady_clock::now();
  RunResult healthy;
  std::thread neighbour([&] {
    // Another program started while the bomb runs still gets to run, and quickly.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    healthy = sandbox().run("print(sum(range(1000)))\n", short_limits(5));
  });
  // The bomb first re-execs itself with the marker in its command line, which its forks inherit.
  RunResult bomb = sandbox().run(
      "import os, sys\nbomb = 'import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass\\n'\n"
      "os.execv(sys.executable, [sys.executable, '-c', bomb, '" + marker + "'])\n",
      short_limits(2));
  neighbour.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.status, RunStatus::timed_out);
  EXPECT_LT(seconds, 4.0);
  EXPECT_TRUE(healthy.ok()) << healthy.err;
  EXPECT_EQ(healthy.out, "499500\n");
  EXPECT_LT(healthy.seconds, 2.0);
  // Nothing of it survives, seen from the host (as root and as an ordinary user) and, where the
  // run has a cgroup, by the cgroup being empty.
  EXPECT_EQ(test::survivors(marker), 0u);
  if (sandbox().run_bounded()) {
    EXPECT_EQ(sandbox().running_processes(), 0);
  }
}

TEST(Sandbox, HugeAllocationFails) {
  S0_REQUIRE_SANDBOX();
  RunResult r = sandbox().run("x = bytearray(100 * 2**30)\n", short_limits());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("MemoryError"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 2.0);
}

TEST(Sandbox, NoNetwork) {
  S0_REQUIRE_SANDBOX();
  // A listener on the host's loopback: a program with network access could reach it.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  // Reachable from outside the sandbox: so a refusal inside is the sandbox's doing, not the host's.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  ::close(probe);
  int accepted = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(accepted, 0);
  ::close(accepted);
  RunResult local = sandbox().run("import socket\nsocket.create_connection(('127.0.0.1', " + std::to_string(port) +
                                      "), timeout=1)\nprint('connected')\n",
                                  short_limits());
  EXPECT_FALSE(local.ok());
  EXPECT_EQ(local.out, "");
  EXPECT_NE(local.err.find("Error"), std::string::npos) << local.err;
  // And nothing reached the listener.
  ::fcntl(listener, F_SETFL, O_NONBLOCK);
  EXPECT_LT(::accept(listener, nullptr, nullptr), 0);
  RunResult remote =
      sandbox().run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)\n", short_limits());
  EXPECT_FALSE(remote.ok());
  EXPECT_NE(remote.err.find("OSError"), std::string::npos) << remote.err;  // network unreachable
  ::close(listener);
}


TEST(Sandbox, SleepForeverIsKilledAtTheWallLimit) {
  S0_REQUIRE_SANDBOX();
  auto start = std::chrono::steady_clock::now();
  RunResult r = sandbox().run("import time\ntime.sleep(10**9)\n", short_limits(1));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, RunStatus::timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(seconds, 2.0);
  EXPECT_GE(seconds, 1.0);
}

TEST(Sandbox, DaemonisedChildrenAreKilledToo) {
  S0_REQUIRE_SANDBOX();
  // The program exits at once but leaves a new-session grandchild holding its stdout.
  std::string marker = test::unique_marker();
  RunResult r = sandbox().run(daemonising_program(marker), short_limits(2));
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "parent done\n");
  EXPECT_LT(r.seconds, 1.5);
  EXPECT_EQ(test::survivors(marker), 0u);
  if (sandbox().run_bounded()) {
    EXPECT_EQ(sandbox().running_processes(), 0);
  }
}

// Programs handed to a pool from two threads while earlier ones run, some done before finish():
// every result in the order handed in, and the progress counts those done earlier at once.
TEST(Sandbox, PoolTakesProgramsWhileRunning) {
  S0_REQUIRE_SANDBOX();
  ProgramPool pool(sandbox(), short_limits(), 3);
  std::vector<size_t> index(16);
  auto hand_in = [&](int first) {
    for (int i = first; i < 16; i += 2) index[static_cast<size_t>(i)] = pool.submit("print(" + std::to_string(i) + ")\n");
  };
  std::thread odd(hand_in, 1);
  hand_in(0);
  odd.join();
  const int null_fd = open("/dev/null", O_WRONLY);
  ASSERT_GE(null_fd, 0);
  ProgressOptions o;
  o.fd = null_fd;
  o.terminal = false;
  Progress progress("check", "programs", 16, o);
  const std::vector<RunResult> results = pool.finish(&progress);
  ASSERT_EQ(results.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(results[index[static_cast<size_t>(i)]].out, std::to_string(i) + "\n");
  EXPECT_EQ(progress.done(), 16);
  progress.finish();
  close(null_fd);
}

// Also the progress the workers advance: one unit per program, failed ones too, each line whole
// (a pipe, a line per advance: the most chances for the workers' lines to interleave).
TEST(Sandbox, ManyInParallel) {
  S0_REQUIRE_SANDBOX();
  std::vector<std::string> programs;
  for (int i = 0; i < 12; ++i) programs.push_back("print(" + std::to_string(i) + " * 2)\n");
  programs.push_back("raise SystemExit(3)\n");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ProgressOptions o;
  o.fd = fds[1];
  o.interval_s = 0;
  Progress progress("check", "programs", static_cast<int64_t>(programs.size()), o);
  std::vector<RunResult> results = run_programs(sandbox(), programs, short_limits(), 4, &progress);
  progress.finish();
  close(fds[1]);
  ASSERT_EQ(results.size(), programs.size());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(results[i].out, std::to_string(i * 2) + "\n");
  EXPECT_EQ(results.back().exit_code, 3);

  EXPECT_EQ(progress.done(), 13);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  size_t lines = 0;
  for (size_t at = 0, end; (end = out.find('\n', at)) != std::string::npos; at = end + 1, ++lines)
    EXPECT_EQ(out.compare(at, 7, "check: "), 0) << out;
  EXPECT_EQ(lines, 14u) << out;  // one per program, then the final line
  EXPECT_NE(out.find("check: 13/13 programs done in "), std::string::npos) << out;
}

TEST(Sandbox, UnsafeModeStillLimitsAndTimesOut) {
  Sandbox unsafe = Sandbox::open(true);
  EXPECT_FALSE(unsafe.isolated());
  EXPECT_FALSE(unsafe.warning().empty());
  RunResult r =
      unsafe.run("import os\nopen('here.txt', 'w').write('x')\nprint(os.path.exists('here.txt'))\n", short_limits());
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "True\n");
  RunResult sleep = unsafe.run("import time\ntime.sleep(100)\n", short_limits(1));
  EXPECT_EQ(sleep.status, RunStatus::timed_out);
  RunResult alloc = unsafe.run("x = bytearray(100 * 2**30)\n", short_limits());
  EXPECT_NE(alloc.err.find("MemoryError"), std::string::npos);
  // A process that left the program's group is still killed: by the reaper's kill(-1) under the
  // program's own uid (as root), or by removing the program's cgroup. An ordinary user without a
  // cgroup has neither: there, --unsafe-no-sandbox cannot catch it, and the test says so.
  if (::geteuid() != 0 && !unsafe.run_bounded())
    GTEST_SKIP() << "an ordinary user without a cgroup: --unsafe-no-sandbox cannot kill a program's daemons";
  std::string marker = test::unique_marker();
  RunResult daemon = unsafe.run(daemonising_program(marker), short_limits(2));
  EXPECT_TRUE(daemon.ok()) << daemon.err;
  EXPECT_LT(daemon.seconds, 1.5);
  EXPECT_EQ(test::survivors(marker), 0u);
}

TEST(Sandbox, RefusesWithTheReasonWhenItCannotIsolate) {
  // Without bubblewrap on PATH there is no sandbox: s0 says why and how to proceed anyway.
  std::string path = std::getenv("PATH");
  ::setenv("PATH", "/nonexistent", 1);
  try {
    Sandbox::open(false);
    ADD_FAILURE() << "expected a refusal";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("bubblewrap (bwrap) not found"), std::string::npos) << what;
    EXPECT_NE(what.find("--unsafe-no-sandbox"), std::string::npos) << what;
  }
  ::setenv("PATH", path.c_str(), 1);
}
