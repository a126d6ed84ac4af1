#include "eval/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/error.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

// Fresh uids for programs run as root: above the ranges Debian allocates to users and the
// systemd-nspawn container range, below 2^31. Mixing in the pid keeps two s0 processes apart.
constexpr uint32_t kUidBase = 1900000000u;

uint32_t next_sandbox_uid() {
  static std::atomic<uint32_t> counter{0};
  uint32_t slot = counter.fetch_add(1) & 0xffu;
  return kUidBase + ((static_cast<uint32_t>(::getpid()) & 0xffffu) << 8 | slot);
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = (end > start ? dirs.substr(start, end - start) : ".") + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

bool under(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end();
}

// The directories hidden from programs: the homes, and $HOME wherever it is.
std::vector<std::string> hidden_dirs() {
  std::vector<std::string> dirs = {"/root", "/home"};
  const char* home = std::getenv("HOME");
  std::error_code ec;
  if (home && fs::is_directory(home, ec)) {
    fs::path h = fs::weakly_canonical(home, ec);
    if (h != "/" && !under(h, "/root") && !under(h, "/home")) dirs.push_back(h.string());
  }
  return dirs;
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail("sandbox: cannot create a pipe (", std::strerror(errno), ")");
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) ::close(r);
    r = -1;
  }
  void close_w() {
    if (w >= 0) ::close(w);
    w = -1;
  }
};

// A private working directory for runs without bubblewrap (inside the sandbox it is a tmpfs).
struct PrivateDir {
  fs::path path;
  explicit PrivateDir(uint32_t owner) {
    std::string tmpl = (fs::temp_directory_path() / "s0-run-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("sandbox: cannot create a private directory (", std::strerror(errno), ")");
    path = tmpl;
    if (owner != 0 && ::chown(path.c_str(), owner, owner) != 0)
      fail("sandbox: cannot hand ", path.string(), " to the program's uid (", std::strerror(errno), ")");
  }
  ~PrivateDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void append_capped(std::string& buf, bool& truncated, const char* data, size_t n, size_t limit) {
  size_t room = buf.size() < limit ? limit - buf.size() : 0;
  buf.append(data, std::min(n, room));
  if (n > room) truncated = true;
}

}  // namespace

std::vector<std::string> Sandbox::command(const SandboxLimits& limits) const {
  std::vector<std::string> argv;
  if (isolated_) {
    argv = {bwrap_, "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc"};
    for (const std::string& dir : hidden_dirs()) argv.insert(argv.end(), {"--tmpfs", dir});
    for (const std::string& dir : extra_binds_) argv.insert(argv.end(), {"--ro-bind", dir, dir});
    argv.insert(argv.end(), {"--size", std::to_string(limits.tmp_size), "--tmpfs", "/tmp", "--dir", "/tmp/work",
                             "--chdir", "/tmp/work"});
  }
  // -s: no user site-packages; -B: no bytecode files; "-": the program arrives on stdin.
  argv.insert(argv.end(), {python_, "-s", "-B", "-"});
  return argv;
}

RunResult Sandbox::run(const std::string& program, const SandboxLimits& limits) const {
  const bool root = ::geteuid() == 0;
  const uint32_t uid = root ? next_sandbox_uid() : 0;
  std::optional<PrivateDir> dir;
  if (!isolated_) dir.emplace(uid);

  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> args = command(limits);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string home = "HOME=" + (dir ? dir->path.string() : std::string("/tmp/work"));
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", home, "LANG=C.UTF-8", "PYTHONHASHSEED=0",
                                  "PYTHONDONTWRITEBYTECODE=1"};
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  struct Limit {
    int resource;
    rlim_t value;
  };
  std::vector<Limit> rlimits = {
      {RLIMIT_CPU, static_cast<rlim_t>(limits.cpu_seconds)},
      {RLIMIT_AS, static_cast<rlim_t>(limits.address_space)},
      {RLIMIT_FSIZE, static_cast<rlim_t>(limits.file_size)},
      {RLIMIT_CORE, 0},
  };
  // RLIMIT_NPROC counts every process of the uid; it only contains the program when the program
  // has a uid of its own (as root: the fresh uid). For another user it would count their shell too.
  if (root) rlimits.push_back({RLIMIT_NPROC, static_cast<rlim_t>(limits.processes)});
  const char* workdir = dir ? dir->path.c_str() : nullptr;

  Pipe in, out, err;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) fail("sandbox: fork failed (", std::strerror(errno), ")");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in.r, 0);
    ::dup2(out.w, 1);
    ::dup2(err.w, 2);
    for (const Limit& l : rlimits) {
      struct rlimit rl = {l.value, l.value};
      ::setrlimit(l.resource, &rl);
    }
    if (root && (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0)) _exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // s0 dying takes the program with it (set after setuid clears it)
    if (workdir && ::chdir(workdir) != 0) _exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent, so killpg works even before the child ran
  in.close_r();
  out.close_w();
  err.close_w();
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (int fd : {in.w, out.r, err.r}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  RunResult result;
  auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(limits.wall_seconds));
  size_t written = 0;
  bool exited = false;
  int status = 0;
  char buf[65536];
  while (out.r >= 0 || err.r >= 0 || !exited) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      result.status = RunStatus::timed_out;
      break;
    }
    std::vector<pollfd> fds;
    if (in.w >= 0) fds.push_back({in.w, POLLOUT, 0});
    if (out.r >= 0) fds.push_back({out.r, POLLIN, 0});
    if (err.r >= 0) fds.push_back({err.r, POLLIN, 0});
    if (!exited && pidfd >= 0) fds.push_back({pidfd, POLLIN, 0});
    int wait_ms = static_cast<int>(std::ceil(std::chrono::duration<double, std::milli>(deadline - now).count()));
    if (pidfd < 0 && !exited) wait_ms = std::min(wait_ms, 10);  // no pidfd: poll the child instead
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR)
      fail("sandbox: poll failed (", std::strerror(errno), ")");
    for (const pollfd& p : fds) {
      if (!p.revents) continue;
      if (p.fd == in.w) {
        ssize_t n = ::write(in.w, program.data() + written, program.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == program.size()) in.close_w();
      } else if (p.fd == out.r || p.fd == err.r) {
        Pipe& pipe = p.fd == out.r ? out : err;
        ssize_t n = ::read(pipe.r, buf, sizeof buf);
        if (n > 0) {
          bool stdout_pipe = &pipe == &out;
          append_capped(stdout_pipe ? result.out : result.err, stdout_pipe ? result.out_truncated : result.err_truncated,
                        buf, static_cast<size_t>(n), limits.output_limit);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          pipe.close_r();
        }
      }
    }
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      in.close_w();
      // Whatever the program left running in its group goes with it, so the pipes reach EOF.
      ::killpg(pid, SIGKILL);
      deadline = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    }
  }
  ::killpg(pid, SIGKILL);
  if (!exited) ::waitpid(pid, &status, 0);
  if (pidfd >= 0) ::close(pidfd);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (exited && result.status == RunStatus::timed_out) result.status = RunStatus::exited;  // only the drain ran late
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Sandbox Sandbox::open(bool unsafe_no_sandbox) {
  ::signal(SIGPIPE, SIG_IGN);  // a program that exits before reading its source must not kill s0
  Sandbox sb;
  // Debian's interpreter first: it lives outside the homes that the sandbox hides.
  sb.python_ = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : find_on_path("python3");
  if (sb.python_.empty()) fail("cannot execute programs: python3 not found on PATH (install the Debian package python3)");
  std::error_code ec;
  fs::path real = fs::canonical(sb.python_, ec);
  if (!ec) {
    sb.python_ = real.string();
    fs::path prefix = real.parent_path().parent_path();
    for (const std::string& hidden : hidden_dirs())
      if (under(real, hidden)) sb.extra_binds_.push_back(prefix.string());
  }
  if (unsafe_no_sandbox) return sb;

  sb.bwrap_ = find_on_path("bwrap");
  if (sb.bwrap_.empty())
    fail("cannot execute programs safely: bubblewrap (bwrap) not found on PATH; install the Debian package "
         "bubblewrap, or pass --unsafe-no-sandbox to run model-written code without isolation");
  sb.isolated_ = true;
  SandboxLimits probe_limits;
  probe_limits.wall_seconds = 20;
  RunResult probe = sb.run("print(6 * 7)\n", probe_limits);
  if (!probe.ok() || probe.out != "42\n") {
    std::string reason = probe.err.substr(0, probe.err.find('\n'));
    if (reason.empty()) reason = cat("exit code ", probe.exit_code);
    fail("cannot execute programs safely: the bubblewrap sandbox does not work on this machine (", reason,
         "); pass --unsafe-no-sandbox to run model-written code without isolation");
  }
  return sb;
}

std::string Sandbox::warning() const {
  if (isolated_) return "";
  return "warning: --unsafe-no-sandbox: model-written programs run without namespaces or a read-only file "
         "system (only rlimits, a private directory and a timeout contain them)";
}

}  // namespace s0
