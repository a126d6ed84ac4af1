// The escapes of issue 9 (items 1 and 3) and the seccomp filter: each program here reached the
// host through the old sandbox, which bound the whole of `/` read-only.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "eval/harness.h"
#include "eval/sandbox.h"
#include "io/json.h"
#include "sandbox_test_support.h"
#include "support/test_support.h"

using namespace s0;
using test::sandbox;
using test::short_limits;
namespace fs = std::filesystem;

namespace {

// A listening UNIX socket that anyone may connect to (so a refusal is the sandbox's doing).
class HostUnixSocket {
 public:
  explicit HostUnixSocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 4) == 0 &&
          ::chmod(path.c_str(), 0777) == 0;
  }
  ~HostUnixSocket() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ec;
    fs::remove(path_, ec);
  }
  bool ok() const { return ok_; }
  // Whether anyone connected since the last call.
  bool was_reached() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c >= 0) ::close(c);
    return c >= 0;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool ok_ = false;
};

std::string connect_program(const fs::path& socket_path) {
  return "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(" + Json(socket_path.string()).dump() +
         ")\nprint('connected')\n";
}

void expect_unreachable(HostUnixSocket& host, const fs::path& path) {
  ASSERT_TRUE(host.ok()) << path;
  // Reachable from the host itself.
  int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  ::close(c);
  ASSERT_TRUE(host.was_reached());
  RunResult r = sandbox().run(connect_program(path), short_limits());
  EXPECT_FALSE(r.ok()) << path;
  EXPECT_EQ(r.out, "") << path;
  EXPECT_NE(r.err.find("Error"), std::string::npos) << r.err;
  EXPECT_FALSE(host.was_reached()) << path;
}

}  // namespace

TEST(SandboxEscape, UnixSocketUnderTmpIsUnreachable) {
  S0_REQUIRE_SANDBOX();
  test::TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  HostUnixSocket host(dir / "host.sock");
  expect_unreachable(host, dir / "host.sock");
}

TEST(SandboxEscape, UnixSocketUnderRunIsUnreachable) {
  S0_REQUIRE_SANDBOX();
  fs::path path = "/run/s0-sandbox-test-" + std::to_string(::getpid()) + ".sock";
  HostUnixSocket host(path);
  if (!host.ok()) GTEST_SKIP() << "/run is not writable for this user: no socket to put there";
  expect_unreachable(host, path);
}

TEST(SandboxEscape, UnixSocketsAreRefused) {
  S0_REQUIRE_SANDBOX();
  // Even a socket whose path the program could see: the seccomp filter refuses AF_UNIX sockets.
  RunResult r = sandbox().run("import socket\nsocket.socket(socket.AF_UNIX)\n", short_limits());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("PermissionError"), std::string::npos) << r.err;
  // A connected pair reaches no one and stays allowed (multiprocessing uses it).
  RunResult pair = sandbox().run("import socket\na, b = socket.socketpair()\na.send(b'x')\nprint(b.recv(1))\n",
                                 short_limits());
  EXPECT_TRUE(pair.ok()) << pair.err;
  EXPECT_EQ(pair.out, "b'x'\n");
}

TEST(SandboxEscape, HostFilesAreNotThere) {
  S0_REQUIRE_SANDBOX();
  // The program read the checkout's README (world-readable) and listed other folders.
  fs::path readme = fs::path(test::checkout_dir()) / "README.md";
  ASSERT_TRUE(fs::exists(readme));
  std::vector<fs::path> targets = {readme, test::shared_dir(), "/etc/passwd", "/etc/hostname"};
  // A file of the user's own, where this user can write one: under $HOME and beside the build.
  std::string tag = "s0-sandbox-secret-" + std::to_string(::getpid());
  std::vector<fs::path> secrets;
  for (const char* dir : {static_cast<const char*>(std::getenv("HOME")), "/work", "/srv"}) {
    if (!dir) continue;
    fs::path secret = fs::path(dir) / tag;
    std::ofstream out(secret);
    if (!out) continue;
    out << "secret";
    out.close();
    ::chmod(secret.c_str(), 0644);
    secrets.push_back(secret);
    targets.push_back(secret);
  }
  for (const fs::path& target : targets) {
    RunResult r = sandbox().run("import os\np = " + Json(target.string()).dump() +
                                    "\nprint(sorted(os.listdir(p)) if os.path.isdir(p) else open(p).read())\n",
                                short_limits());
    EXPECT_FALSE(r.ok()) << target << ": " << r.out;
    EXPECT_EQ(r.out, "") << target;
    EXPECT_NE(r.err.find("FileNotFoundError"), std::string::npos) << target << ": " << r.err;
  }
  for (const fs::path& secret : secrets) fs::remove(secret);
}

TEST(SandboxEscape, RootShowsOnlyWhatPythonNeeds) {
  S0_REQUIRE_SANDBOX();
  RunResult r = sandbox().run("import os\nprint(' '.join(sorted(os.listdir('/'))))\nprint(' '.join(sorted(os.listdir('/etc'))))\n"
                              "print(' '.join(sorted(os.listdir('/run'))))\n",
                              short_limits());
  ASSERT_TRUE(r.ok()) << r.err;
  std::istringstream lines(r.out);
  std::string root, etc, run;
  std::getline(lines, root);
  std::getline(lines, etc);
  std::getline(lines, run);
  const std::set<std::string> allowed = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32",
                                         "proc", "run", "sbin", "tmp", "usr"};
  std::istringstream names(root);
  for (std::string name; names >> name;) EXPECT_TRUE(allowed.count(name)) << "/" << name << " is visible: " << root;
  for (const char* must : {"usr", "tmp", "proc", "dev"}) EXPECT_NE(root.find(must), std::string::npos) << root;
  for (const char* secret : {"passwd", "shadow", "hostname", "hosts", "ssh"})
    EXPECT_EQ((" " + etc + " ").find(std::string(" ") + secret + " "), std::string::npos) << etc;
  EXPECT_EQ(run, "");  // no host sockets, no /run/user/UID/bus
}

TEST(SandboxEscape, ReportsCarryNoHostFile) {
  S0_REQUIRE_SANDBOX();
  // A completion that raises the README's first line: the report's failure text is the last line of
  // stderr, so with the file readable the report would carry it out.
  fs::path readme = fs::path(test::checkout_dir()) / "README.md";
  std::string first_line;
  std::getline(std::ifstream(readme) >> std::ws, first_line);
  ASSERT_FALSE(first_line.empty());
  Problem p;
  p.id = "HumanEval/0";
  p.prompt = p.code_prompt = "def f():\n";
  p.test = "def check(candidate):\n    assert candidate() == 1\n";
  p.entry_point = "f";
  std::string completion = "    raise Exception(open(" + Json(readme.string()).dump() + ").readline())\n";
  CheckOptions options;
  options.sandbox = &sandbox();
  options.limits = short_limits();
  options.workers = 1;
  std::vector<ProblemRecord> records = check_completions(Benchmark::humaneval, {p}, {{completion}}, options);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].passed);
  EXPECT_EQ(records[0].failure.find(first_line), std::string::npos) << records[0].failure;
  EXPECT_NE(records[0].failure.find("FileNotFoundError"), std::string::npos) << records[0].failure;
}

TEST(SandboxEscape, SeccompRefusesPtraceNamespacesAndKernelInterfaces) {
  S0_REQUIRE_SANDBOX();
  // Each call through ctypes prints its result and errno: -1 and 1 (EPERM) when refused.
  RunResult r = sandbox().run(
      "import ctypes, os\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "def show(name, result):\n    print(name, result, ctypes.get_errno())\n    ctypes.set_errno(0)\n"
      "show('ptrace', libc.ptrace(0, 0, 0, 0))\n"                        // PTRACE_TRACEME
      "show('unshare', libc.unshare(0x10000000))\n"                      // CLONE_NEWUSER
      "show('personality', libc.personality(0x0400000))\n"               // READ_IMPLIES_EXEC
      "show('keyctl', libc.syscall(250, 0, -3, 0, 0, 0))\n"              // KEYCTL_GET_KEYRING_ID
      "show('bpf', libc.syscall(321, 0, 0, 0))\n"
      "show('io_uring_setup', libc.syscall(425, 1, 0))\n"
      "show('userfaultfd', libc.syscall(323, 0))\n"
      "show('process_vm_readv', libc.syscall(310, os.getpid(), 0, 0, 0, 0, 0))\n",
      short_limits());
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out,
            "ptrace -1 1\nunshare -1 1\npersonality -1 1\nkeyctl -1 1\nbpf -1 1\nio_uring_setup -1 1\n"
            "userfaultfd -1 1\nprocess_vm_readv -1 1\n");
  // What Python needs still works: threads (clone3 answers ENOSYS, the C library falls back to
  // clone), processes, and the default personality.
  RunResult fine = sandbox().run(
      "import ctypes, threading, subprocess, sys\n"
      "t = threading.Thread(target=print, args=('thread',))\nt.start()\nt.join()\n"
      "print(subprocess.run([sys.executable, '-c', 'print(1)'], capture_output=True).stdout.decode().strip())\n"
      "print(ctypes.CDLL(None).personality(0))\n",
      short_limits(5));
  EXPECT_TRUE(fine.ok()) << fine.err;
  EXPECT_EQ(fine.out, "thread\n1\n0\n");
}
