#include "eval/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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
#include <thread>

#include "core/error.h"
#include "eval/run_cgroup.h"
#include "eval/sandbox_mounts.h"
#include "eval/sandbox_spawner.h"
#include "eval/seccomp_filter.h"

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

struct timespec timespec_after(double seconds) {
  struct timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  double whole = std::floor(seconds);
  now.tv_sec += static_cast<time_t>(whole);
  now.tv_nsec += static_cast<long>((seconds - whole) * 1e9);
  if (now.tv_nsec >= 1000000000L) {
    now.tv_sec += 1;
    now.tv_nsec -= 1000000000L;
  }
  return now;
}

// Time left until `deadline`, zero when it has passed.
struct timespec until(const struct timespec& deadline) {
  struct timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  struct timespec left = {deadline.tv_sec - now.tv_sec, deadline.tv_nsec - now.tv_nsec};
  if (left.tv_nsec < 0) {
    left.tv_sec -= 1;
    left.tv_nsec += 1000000000L;
  }
  if (left.tv_sec < 0) left = {0, 0};
  return left;
}

bool passed(const struct timespec& deadline) {
  struct timespec left = until(deadline);
  return left.tv_sec == 0 && left.tv_nsec == 0;
}

// The first process of a run: a child subreaper that starts the program (bubblewrap or python),
// kills it at the wall limit, and reaps every process the run leaves behind before it exits with
// the program's status. Without it, bubblewrap's pid-namespace init outlives bubblewrap for a
// moment and would be handed to the machine's pid 1, which in containers may never reap it.
// With a uid of its own, kill(-1) reaches exactly the run's processes, even ones that escaped
// into a new session. Runs in a forked child of a threaded process: async-signal-safe calls only.
// `first_closed` is the lowest descriptor it closes (4 when fd 3 carries bubblewrap's seccomp filter).
[[noreturn]] void reap_program(char* const* argv, char* const* envp, double wall_seconds, bool own_uid,
                               unsigned first_closed) {
  // The reaper never execs, so close-on-exec does not apply: without this it would hold the write
  // end of the program's stdin (and other runs' pipes), and the program would never see EOF.
  ::syscall(SYS_close_range, first_closed, ~0u, 0u);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  pid_t program = ::fork();
  if (program < 0) _exit(126);
  if (program == 0) {
    ::sigprocmask(SIG_UNBLOCK, &chld, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::execve(argv[0], argv, envp);
    _exit(127);
  }
  struct timespec deadline = timespec_after(wall_seconds);
  bool program_done = false, killed = false;
  int status = 0;
  for (;;) {
    int st = 0;
    pid_t w;
    while ((w = ::waitpid(-1, &st, WNOHANG)) > 0) {
      if (w != program) continue;
      status = st;
      program_done = true;
      if (own_uid) ::kill(-1, SIGKILL);  // stragglers of the run
      deadline = timespec_after(1.0);    // the rest only needs reaping
    }
    if (w < 0) break;  // ECHILD: nothing of the run is left
    if (passed(deadline)) {
      if (program_done || killed) break;  // stragglers we may not kill: leave them to s0's killpg
      ::kill(program, SIGKILL);
      if (own_uid) ::kill(-1, SIGKILL);
      killed = true;
      deadline = timespec_after(1.0);
    }
    struct timespec left = until(deadline);
    ::sigtimedwait(&chld, nullptr, &left);
  }
  if (!program_done) _exit(137);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

// Tasks a program's cgroup allows beyond the program's own: the reaper, bubblewrap and its pid-1.
constexpr int kRunnerTasks = 4;

// The descriptor bubblewrap reads the seccomp filter from, inherited across exec.
constexpr int kSeccompFd = 3;

RunBudget RunBudget::for_workers(int workers, const SandboxLimits& each) {
  int n = workers > 0 ? workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  uint64_t half_ram = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 2;
  RunBudget b;
  b.memory = std::min(each.memory * static_cast<uint64_t>(n), half_ram);
  b.processes = static_cast<int64_t>(n) * (each.processes + kRunnerTasks);
  return b;
}

std::vector<std::string> Sandbox::command(const SandboxLimits& limits) const {
  std::vector<std::string> argv;
  if (isolated_) {
    argv = {bwrap_, "--unshare-all", "--die-with-parent", "--new-session", "--seccomp", std::to_string(kSeccompFd)};
    std::vector<std::string> mounts = sandbox_mount_args(python_, limits);
    argv.insert(argv.end(), mounts.begin(), mounts.end());
    // The process limit is set inside the sandbox's user namespace, where the kernel counts only
    // the program's own processes (an ordinary user's other processes do not count against it).
    argv.insert(argv.end(), {"--", prlimit_, cat("--nproc=", limits.processes)});
  }
  // -s: no user site-packages; -B: no bytecode files; "-": the program arrives on stdin.
  argv.insert(argv.end(), {python_, "-s", "-B", "-"});
  return argv;
}

RunResult Sandbox::run(const std::string& program, const SandboxLimits& limits) const {
  return spawner_ ? spawner_->run(program, limits) : run_here(program, limits);
}

void Sandbox::start_spawner() {
  if (!spawner_) spawner_ = SandboxSpawner::start(*this);
}

pid_t Sandbox::spawner_pid() const { return spawner_ ? spawner_->pid() : -1; }

RunResult Sandbox::run_here(const std::string& program, const SandboxLimits& limits) const {
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
  // The program's own cgroup, joined by the child before anything else runs; gone when this returns.
  std::unique_ptr<RunCgroup::Program> group;
  std::vector<const char*> join_files;
  if (cgroup_) {
    group = cgroup_->program({limits.memory, limits.processes + kRunnerTasks});
    for (const std::string& f : group->join_files()) join_files.push_back(f.c_str());
  }
  // bubblewrap reads the seccomp filter from a descriptor, to its end: a pipe per run (the
  // filter is far smaller than a pipe's buffer, so it is written whole before the fork).
  std::optional<Pipe> filter;
  if (isolated_) {
    filter.emplace();
    if (::write(filter->w, seccomp_.data(), seccomp_.size()) != static_cast<ssize_t>(seccomp_.size()))
      fail("sandbox: cannot hand the seccomp filter to bubblewrap (", std::strerror(errno), ")");
    filter->close_w();
  }
  const int filter_fd = filter ? filter->r : -1;

  Pipe in, out, err;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) fail("sandbox: fork failed (", std::strerror(errno), ")");
  if (pid == 0) {
    ::setpgid(0, 0);
    // Above the descriptors the dup2s below replace, then to its fixed place (without close-on-exec).
    int filter_copy = filter_fd >= 0 ? ::fcntl(filter_fd, F_DUPFD, 10) : -1;
    ::dup2(in.r, 0);
    ::dup2(out.w, 1);
    ::dup2(err.w, 2);
    if (filter_copy >= 0) ::dup2(filter_copy, kSeccompFd);
    for (const char* file : join_files) {
      int fd = ::open(file, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) {
        static const char msg[] = "sandbox: cannot join the program's cgroup\n";
        ::write(2, msg, sizeof msg - 1);
        _exit(126);
      }
      ::close(fd);
    }
    for (const Limit& l : rlimits) {
      struct rlimit rl = {l.value, l.value};
      ::setrlimit(l.resource, &rl);
    }
    if (root && (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0)) _exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // s0 dying takes the run with it (set after setuid clears it)
    if (workdir && ::chdir(workdir) != 0) _exit(126);
    reap_program(argv.data(), envp.data(), limits.wall_seconds, root, filter_copy >= 0 ? kSeccompFd + 1 : 3);
  }
  ::setpgid(pid, pid);  // also in the parent, so killpg works even before the child ran
  filter.reset();
  in.close_r();
  out.close_w();
  err.close_w();
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (int fd : {in.w, out.r, err.r}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  RunResult result;
  // The reaper enforces the wall limit; this later deadline only guards against a stuck reaper.
  auto wall = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(limits.wall_seconds));
  auto deadline = start + wall + std::chrono::seconds(3);
  size_t written = 0;
  bool exited = false;
  std::chrono::steady_clock::time_point exit_time;
  int status = 0;
  char buf[65536];
  while (out.r >= 0 || err.r >= 0 || !exited) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
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
          append_capped(stdout_pipe ? result.out : result.err,
                        stdout_pipe ? result.out_truncated : result.err_truncated, buf, static_cast<size_t>(n),
                        limits.output_limit);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          pipe.close_r();
        }
      }
    }
    siginfo_t info{};
    if (!exited && ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      // Whatever is left in the run's group goes with it, so the pipes reach EOF. The reaper is
      // still an unreaped zombie here, so its pid cannot have been reused as another group's id.
      ::killpg(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
      exit_time = std::chrono::steady_clock::now();
      in.close_w();
      deadline = std::min(deadline, exit_time + std::chrono::milliseconds(500));
    }
  }
  if (!exited) {
    ::killpg(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  if (pidfd >= 0) ::close(pidfd);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Still running at the wall limit means killed by the reaper (or by the guard above).
  result.status = !exited || start + wall <= exit_time ? RunStatus::timed_out : RunStatus::exited;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Sandbox Sandbox::open(bool unsafe_no_sandbox, const RunBudget& budget) {
  ::signal(SIGPIPE, SIG_IGN);  // a program that exits before reading its source must not kill s0
  Sandbox sb;
  // Debian's interpreter first; another one is bound read-only by its prefix (sandbox_mounts.h).
  sb.python_ = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : find_on_path("python3");
  if (sb.python_.empty())
    fail("cannot execute programs: python3 not found on PATH (install the Debian package python3)");
  std::error_code ec;
  fs::path real = fs::canonical(sb.python_, ec);
  if (!ec) sb.python_ = real.string();

  std::unique_ptr<RunCgroup> cgroup = RunCgroup::create({budget.memory, budget.processes}, sb.no_cgroup_reason_);
  sb.cgroup_ = std::move(cgroup);
  if (unsafe_no_sandbox) return sb;

  sb.bwrap_ = find_on_path("bwrap");
  if (sb.bwrap_.empty())
    fail(
        "cannot execute programs safely: bubblewrap (bwrap) not found on PATH; install the Debian package "
        "bubblewrap, or pass --unsafe-no-sandbox to run model-written code without isolation");
  // Inside the sandbox only /usr is there, so prlimit must come from it.
  sb.prlimit_ = "/usr/bin/prlimit";
  if (::access(sb.prlimit_.c_str(), X_OK) != 0)
    fail("cannot execute programs safely: /usr/bin/prlimit not found (install the Debian package util-linux), or "
         "pass --unsafe-no-sandbox to run model-written code without isolation");
  // Without a cgroup nothing would bound memfds and SysV shared memory: the filter denies them.
  sb.seccomp_ = seccomp_filter_program(!sb.cgroup_);
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

int64_t Sandbox::running_processes() const { return cgroup_ ? cgroup_->processes() : -1; }

std::string Sandbox::warning() const {
  std::vector<std::string> parts;
  if (!isolated_)
    parts.push_back(
        "warning: --unsafe-no-sandbox: model-written programs run without namespaces, seccomp or a private file "
        "system (only rlimits, a private directory and a timeout contain them)");
  if (!cgroup_)
    parts.push_back(cat("warning: memory is bounded per program only, not for the run as a whole (",
                        no_cgroup_reason_, ")"));
  std::string line;
  for (const std::string& p : parts) line += (line.empty() ? "" : "; ") + p;
  return line;
}

}  // namespace s0
