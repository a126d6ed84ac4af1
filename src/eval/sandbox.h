#pragma once
// Runs untrusted, model-written Python. Each program gets its own process tree inside a
// bubblewrap sandbox: new network, pid, ipc, uts and cgroup namespaces (no network at all), the
// whole file system read-only, the user's home hidden, a private size-capped tmpfs as working
// directory, rlimits (CPU seconds, address space, file size, processes), and a wall-clock timeout
// that kills everything it started. Output is captured through pipes and truncated.
//
// When s0 runs as root, each program also runs under a fresh unprivileged uid (root ignores
// RLIMIT_NPROC, so only a non-root uid makes the process limit contain a fork bomb; a distinct
// uid per run keeps one program's processes from counting against another's).
#include <cstdint>
#include <string>
#include <vector>

namespace s0 {

struct SandboxLimits {
  double wall_seconds = 10;             // killed (whole process tree) after this long
  int cpu_seconds = 10;                 // RLIMIT_CPU per process
  uint64_t address_space = 2ull << 30;  // RLIMIT_AS: allocations beyond fail (MemoryError)
  uint64_t file_size = 16ull << 20;     // RLIMIT_FSIZE: largest file a program may write
  uint64_t tmp_size = 64ull << 20;      // size of the private tmpfs (all files together)
  int processes = 16;                   // RLIMIT_NPROC (tasks, threads included)
  size_t output_limit = 64 * 1024;      // bytes kept of stdout and of stderr each
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
  // Finds python3 and bubblewrap and checks that a trivial program runs isolated. Fails with the
  // reason when it cannot, unless `unsafe_no_sandbox`: then programs run with rlimits, a private
  // directory and process-group kill only, and warning() says so.
  static Sandbox open(bool unsafe_no_sandbox);

  RunResult run(const std::string& program, const SandboxLimits& limits) const;

  bool isolated() const { return isolated_; }
  std::string warning() const;

 private:
  Sandbox() = default;
  std::vector<std::string> command(const SandboxLimits& limits) const;

  bool isolated_ = false;
  std::string python_;
  std::string bwrap_;
  std::vector<std::string> extra_binds_;  // the interpreter's prefix when it lies under a hidden home
};

}  // namespace s0
