#pragma once
// One cgroup per sandbox (that is, per `s0 eval`/`collect` run) bounding the memory and the
// processes of all its programs together, with a child cgroup per program bounding that program.
// Memory here is what rlimits cannot see: tmpfs pages (/dev/shm, /tmp), memfds and SysV shared
// memory are charged to the cgroup of the process that wrote them, and the kernel's OOM killer
// ends a program that goes over its own limit (or, when all programs together exceed the run's
// budget, the largest process of the run).
//
// Supports the unified hierarchy (cgroup v2: memory.max, memory.swap.max, pids.max, cgroup.kill)
// and the legacy one (v1: memory.limit_in_bytes, memory.memsw.limit_in_bytes, pids.max), created
// under the cgroup s0 itself runs in. Where no cgroup can be created (an ordinary user without a
// delegated cgroup), create() says why and the sandbox falls back (see sandbox.h).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace s0 {

struct CgroupBudget {
  uint64_t memory = 0;  // bytes, all processes together
  int64_t processes = 0;  // tasks (threads count), all processes together
};

class RunCgroup {
 public:
  // A program's own cgroup, removed (with anything left in it killed) when it dies.
  class Program {
   public:
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;
    ~Program();
    // The files a process writes "0" to in order to join (one per hierarchy), for use after fork.
    const std::vector<std::string>& join_files() const { return procs_files_; }

   private:
    friend class RunCgroup;
    Program() = default;
    std::vector<std::string> dirs_;
    std::vector<std::string> procs_files_;
  };

  // Creates the run's cgroup, or returns nullptr with the reason in `why_not`.
  static std::unique_ptr<RunCgroup> create(const CgroupBudget& budget, std::string& why_not);
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  ~RunCgroup();  // kills what is left and removes the cgroups

  std::unique_ptr<Program> program(const CgroupBudget& limits) const;
  // Processes (tasks) alive in the run's cgroup now, all programs together.
  int64_t processes() const;
  bool unified() const { return unified_; }

 private:
  RunCgroup() = default;
  bool unified_ = false;
  std::string memory_dir_, pids_dir_;  // the same folder on v2
};

}  // namespace s0
