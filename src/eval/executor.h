#pragma once
// Runs many sandboxed programs at once: a pool of worker threads, each driving one program's
// process at a time (the work is in the child processes; a thread per slot only waits on pipes).
#include <string>
#include <vector>

#include "core/progress.h"
#include "eval/sandbox.h"

namespace s0 {

// The most programs run at once: four per core (a program mostly waits on its interpreter's
// start), never more than 64, never fewer than 4. Beyond it a run only queues on the CPU while
// its processes and memory multiply.
int max_workers();

// `n`, checked to lie in 1..max_workers(); `flag` names the option in the message ("--workers").
int check_workers(int n, const char* flag);

// The programs run at once for a library caller: 0 means the default, one per core; anything else
// is checked by check_workers.
int worker_count(int requested);

// workers = 0 means one per core; outside 0..max_workers() is an error. Results come back in the
// order of `programs`. `progress`, when set, advances by one as each program ends (from the workers'
// threads).
std::vector<RunResult> run_programs(const Sandbox& sandbox, const std::vector<std::string>& programs,
                                    const SandboxLimits& limits, int workers, Progress* progress = nullptr);

}  // namespace s0
