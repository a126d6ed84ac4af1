#pragma once
// A small helper process that starts the sandbox's programs on s0's behalf. fork() copies the
// forking process's page tables with its memory map locked: in s0 with a model loaded and CUDA
// initialised (gigabytes mapped) each fork took ~90 ms and forks from several threads queued on one
// another. The spawner is forked once, early, while s0 is still small; every run then forks from
// it, at a cost that does not grow with s0.
//
// It is a copy of s0 at the moment of the fork holding the open Sandbox (interpreter, bubblewrap,
// seccomp filter, the run's cgroup) and runs each request with that Sandbox's own in-process run,
// so programs get exactly the sandbox they would get from s0 itself.
//
// Protocol: for each run s0 makes a stream socketpair and passes one end over the control socket
// (SEQPACKET, SCM_RIGHTS); on it s0 writes the request (sandbox_wire.h) and shuts down writing,
// the spawner answers from a thread of its own and closes. Runs from many threads go on at once,
// each on its own socket, so no answer can reach another request.
//
// Lifetime: the spawner exits when s0 closes the control socket (the last Sandbox copy dies) and
// is killed when s0 dies (PR_SET_PDEATHSIG; its programs follow, as they would follow s0). If it
// dies first, the run in flight and every later one fail with one line saying so.
#include <sys/types.h>

#include <memory>
#include <string>

#include "eval/sandbox.h"

namespace s0 {

class SandboxSpawner {
 public:
  // Forks the spawner serving `sandbox`. Call from the thread that will outlive every run (the
  // main thread): the kernel sends PR_SET_PDEATHSIG when the forking thread ends.
  static std::shared_ptr<const SandboxSpawner> start(const Sandbox& sandbox);
  SandboxSpawner(const SandboxSpawner&) = delete;
  SandboxSpawner& operator=(const SandboxSpawner&) = delete;
  ~SandboxSpawner();  // closes the control socket and reaps the spawner

  RunResult run(const std::string& program, const SandboxLimits& limits) const;
  pid_t pid() const { return pid_; }

 private:
  SandboxSpawner(pid_t pid, int control) : pid_(pid), control_(control) {}
  pid_t pid_;
  int control_;
};

}  // namespace s0
