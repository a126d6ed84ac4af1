#pragma once
// Runs untrusted, model-written Python. Each program gets its own process tree inside a
// bubblewrap sandbox built from nothing up, the way bubblewrap's examples and nsjail build theirs:
//
// - Namespaces: new network, pid, ipc, uts, cgroup and user namespaces (no network at all, not
//   even the host's loopback; no other process visible).
// - Files: only what python3 needs, read-only (/usr, the /bin /lib /lib64 /sbin links, a few
//   files of /etc, the interpreter's prefix when it is outside /usr); a private /dev, read-only,
//   with a size-limited /dev/shm; an empty read-only /run; private /proc; a size-limited tmpfs
//   /tmp with the working directory /tmp/work. Nothing of the user's data: no /home, /root, /work,
//   /srv, /opt, /mnt, /media, /var, /sys, no checkout. Exactly what is bound: sandbox_mounts.h.
// - A seccomp filter (AF_UNIX sockets, ptrace, keyrings, bpf, io_uring, mounts, new namespaces,
//   ...; every rule answers EPERM): the list and why is in seccomp_filter.h.
// - Limits per program: rlimits (CPU seconds, address space, file size) and a process limit set
//   inside the sandbox's own user namespace (so it counts the program's processes only, as root
//   and as an ordinary user alike), a wall-clock timeout that kills everything it started.
// - Limits per run: one cgroup per Sandbox bounding memory and processes of all its programs
//   together, and a child cgroup per program (run_cgroup.h). Memory there includes tmpfs pages
//   and memfds, which no rlimit sees.
//
// Where no cgroup can be created (an ordinary user without a delegated cgroup), the sandbox still
// runs: /tmp and /dev/shm are size-limited tmpfs, memfd_create and shmget are denied by the
// seccomp filter (their memory would be unbounded), processes are limited per program, and
// warning() says that memory is bounded per program only.
//
// When s0 runs as root, each program also runs under a fresh unprivileged uid: bubblewrap then
// runs unprivileged, and the run's reaper can kill(-1) exactly the run's processes.
//
// Output is captured through pipes and truncated.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace s0 {

class RunCgroup;
class SandboxSpawner;

struct SandboxLimits {
  double wall_seconds = 10;             // killed (whole process tree) after this long
  int cpu_seconds = 10;                 // RLIMIT_CPU per process
  uint64_t address_space = 2ull << 30;  // RLIMIT_AS: allocations beyond fail (MemoryError)
  uint64_t memory = 1ull << 30;         // all the program's memory, tmpfs and memfd pages included (cgroup)
  uint64_t file_size = 16ull << 20;     // RLIMIT_FSIZE: largest file a program may write
  uint64_t tmp_size = 64ull << 20;      // size of the private /tmp (all files together)
  uint64_t shm_size = 16ull << 20;      // size of the private /dev/shm
  int processes = 16;                   // tasks (threads included) of one program
  size_t output_limit = 64 * 1024;      // bytes kept of stdout and of stderr each
};

// What all programs of one Sandbox may use together.
struct RunBudget {
  uint64_t memory = 0;
  int64_t processes = 0;
  // `workers` programs at once with `each` limits, memory capped at half the machine's.
  static RunBudget for_workers(int workers, const SandboxLimits& each = {});
};

enum class RunStatus {
  exited,     // ran to the end; exit_code says how (128 + n when killed by signal n)
  timed_out,  // killed at the wall-clock limit
};

struct RunResult {
  RunStatus status = RunStatus::exited;
  int exit_code = -1;
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
  double seconds = 0;
  bool ok() const { return status == RunStatus::exited && exit_code == 0; }
};

class Sandbox {
 public:
  // Finds python3 and bubblewrap, makes the run's cgroup, and checks that a trivial program runs
  // isolated. Fails with the reason when it cannot, unless `unsafe_no_sandbox`: then programs run
  // with rlimits, the cgroup, a private directory and process-group kill only, and warning() says so.
  static Sandbox open(bool unsafe_no_sandbox, const RunBudget& budget = RunBudget::for_workers(0));

  // Runs one program: through the spawner when start_spawner() was called, else forked from here.
  RunResult run(const std::string& program, const SandboxLimits& limits) const;

  // From now on programs start from a helper process forked now (sandbox_spawner.h), so that their
  // fork no longer copies this process's memory map. Call it while the process is small, before
  // loading a model or initialising CUDA, from the main thread. Copies made later share the helper.
  void start_spawner();
  // The helper's pid, or -1 without one.
  pid_t spawner_pid() const;

  bool isolated() const { return isolated_; }
  // Whether a cgroup bounds the run's memory and processes (else the fallback above).
  bool run_bounded() const { return cgroup_ != nullptr; }
  // Processes alive in the run's cgroup; -1 without one.
  int64_t running_processes() const;
  // One line per thing the user should know (no sandbox; memory bounded per program only), or "".
  std::string warning() const;

 private:
  friend class SandboxSpawner;
  Sandbox() = default;
  std::vector<std::string> command(const SandboxLimits& limits) const;
  // The one implementation of a run: fork the reaper here and drive the program to its end.
  RunResult run_here(const std::string& program, const SandboxLimits& limits) const;

  bool isolated_ = false;
  std::string python_;
  std::string bwrap_;
  std::string prlimit_;  // util-linux's, run inside the sandbox to set the process limit there
  std::shared_ptr<const RunCgroup> cgroup_;  // shared by copies; the last one removes it
  std::string no_cgroup_reason_;
  std::vector<unsigned char> seccomp_;  // the BPF program handed to bubblewrap
  // Declared after cgroup_, so destroyed first: the helper is gone before the cgroup is removed.
  std::shared_ptr<const SandboxSpawner> spawner_;
};

}  // namespace s0
