#pragma once
// Runs many sandboxed programs at once: a pool of worker threads, each driving one program's
// process at a time (the work is in the child processes; a thread per slot only waits on pipes).
#include <string>
#include <vector>

#include "eval/sandbox.h"

namespace s0 {

// workers <= 0 means one per core. Results come back in the order of `programs`.
std::vector<RunResult> run_programs(const Sandbox& sandbox, const std::vector<std::string>& programs,
                                    const SandboxLimits& limits, int workers);

}  // namespace s0
