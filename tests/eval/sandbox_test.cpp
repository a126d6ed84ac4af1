// The sandbox against the programs the issue names: each must fail cleanly, quickly, and leave
// the host untouched. Limits are short so the suite stays fast.
#include "eval/sandbox.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "eval/executor.h"
#include "io/json.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

const Sandbox& sandbox() {
  static const Sandbox sb = Sandbox::open(false);
  return sb;
}

SandboxLimits short_limits(double seconds = 2) {
  SandboxLimits l;
  l.wall_seconds = seconds;
  l.cpu_seconds = static_cast<int>(seconds) + 1;
  return l;
}

// Processes still running under the uids this test process's programs ran as (see sandbox.cpp:
// 1900000000 + (pid & 0xffff) * 256 + slot), so that tests running beside it do not count.
size_t sandbox_processes() {
  unsigned long first = 1900000000ul + ((static_cast<unsigned long>(::getpid()) & 0xffff) << 8);
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string status = test::read_text(entry.path() / "status");
    size_t pos = status.find("\nUid:");
    if (pos == std::string::npos) continue;
    unsigned long uid = std::strtoul(status.c_str() + pos + 5, nullptr, 10);
    n += uid >= first && uid < first + 256;
  }
  return n;
}

}  // namespace

TEST(Sandbox, RunsProgramsAndCapturesOutput) {
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
  SandboxLimits l = short_limits();
  l.output_limit = 1000;
  RunResult r = sandbox().run("print('x' * 10_000_000)\n", l);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.out_truncated);
  EXPECT_FALSE(r.err_truncated);
}

TEST(Sandbox, WritesOutsideThePrivateDirectoryFail) {
  test::TempDir dir;
  std::filesystem::path cwd_target = fs::current_path() / "s0-sandbox-escape.txt";
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
  SandboxLimits l = short_limits();
  l.file_size = 1 << 20;
  RunResult r = sandbox().run("open('big', 'wb').write(b'x' * (8 << 20))\n", l);
  EXPECT_FALSE(r.ok());
}

TEST(Sandbox, ForkBombIsContained) {
  auto start = std::chrono::steady_clock::now();
  RunResult healthy;
  std::thread neighbour([&] {
    // Another program started while the bomb runs still gets to run, and quickly.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    healthy = sandbox().run("print(sum(range(1000)))\n", short_limits(5));
  });
  RunResult bomb = sandbox().run(
      "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", short_limits(2));
  neighbour.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.status, RunStatus::timed_out);
  EXPECT_LT(seconds, 4.0);
  EXPECT_TRUE(healthy.ok()) << healthy.err;
  EXPECT_EQ(healthy.out, "499500\n");
  EXPECT_LT(healthy.seconds, 2.0);
  // Nothing of it survives.
  for (int i = 0; i < 50 && sandbox_processes() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sandbox_processes(), 0u);
}

TEST(Sandbox, HugeAllocationFails) {
  RunResult r = sandbox().run("x = bytearray(100 * 2**30)\n", short_limits());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("MemoryError"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 2.0);
}

TEST(Sandbox, NoNetwork) {
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
  RunResult local =
      sandbox().run("import socket\nsocket.create_connection(('127.0.0.1', " + std::to_string(port) + "), timeout=1)\n",
                    short_limits());
  EXPECT_FALSE(local.ok());
  EXPECT_NE(local.err.find("Error"), std::string::npos) << local.err;
  RunResult remote =
      sandbox().run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)\n", short_limits());
  EXPECT_FALSE(remote.ok());
  EXPECT_NE(remote.err.find("OSError"), std::string::npos) << remote.err;  // network unreachable
  ::close(listener);
}

TEST(Sandbox, HomeIsHidden) {
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  std::filesystem::path secret = fs::path(home) / ("s0-sandbox-secret-" + std::to_string(::getpid()));
  test::write_text(secret, "secret");
  ASSERT_TRUE(fs::exists(secret));
  RunResult r = sandbox().run("print(open(" + Json(secret.string()).dump() + ").read())\n", short_limits());
  fs::remove(secret);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.out.find("secret"), std::string::npos);
  EXPECT_NE(r.err.find("Error"), std::string::npos) << r.err;
  RunResult listing = sandbox().run("import os\nprint(os.listdir('/root'), os.listdir('/home'))\n", short_limits());
  EXPECT_EQ(listing.out, "[] []\n") << listing.err;
}

TEST(Sandbox, SleepForeverIsKilledAtTheWallLimit) {
  auto start = std::chrono::steady_clock::now();
  RunResult r = sandbox().run("import time\ntime.sleep(10**9)\n", short_limits(1));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, RunStatus::timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(seconds, 2.0);
  EXPECT_GE(seconds, 1.0);
}

TEST(Sandbox, DaemonisedChildrenAreKilledToo) {
  // The program exits at once but leaves a new-session grandchild holding its stdout.
  RunResult r = sandbox().run(
      "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(10**9)\nprint('parent done')\n",
      short_limits(2));
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_LT(r.seconds, 1.5);
  for (int i = 0; i < 50 && sandbox_processes() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sandbox_processes(), 0u);
}

TEST(Sandbox, ManyInParallel) {
  std::vector<std::string> programs;
  for (int i = 0; i < 12; ++i) programs.push_back("print(" + std::to_string(i) + " * 2)\n");
  programs.push_back("raise SystemExit(3)\n");
  std::vector<RunResult> results = run_programs(sandbox(), programs, short_limits(), 4);
  ASSERT_EQ(results.size(), programs.size());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(results[i].out, std::to_string(i * 2) + "\n");
  EXPECT_EQ(results.back().exit_code, 3);
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
  // Run as root, the program's own uid lets the run's reaper kill even a process that left its group.
  if (::geteuid() == 0) {
    RunResult daemon = unsafe.run(
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(10**9)\nprint('parent done')\n",
        short_limits(2));
    EXPECT_TRUE(daemon.ok()) << daemon.err;
    EXPECT_LT(daemon.seconds, 1.5);
    for (int i = 0; i < 50 && sandbox_processes() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(sandbox_processes(), 0u);
  }
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
