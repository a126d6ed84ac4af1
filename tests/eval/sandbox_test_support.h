#pragma once
// What the sandbox tests share: the sandbox under test, short limits, and a way to see from the
// host whether anything a program started is still running (as root and as an ordinary user).
#include <string>

#include "eval/sandbox.h"

namespace s0::test {

// One sandbox for the whole test binary (opening one runs a probe program).
const Sandbox& sandbox();

SandboxLimits short_limits(double seconds = 2);

// A string no other process on the machine has in its command line. A program that wants to be
// found execs a process carrying it (e.g. `sleep <marker>`, whose argument is a valid duration).
std::string unique_marker();

// Host processes whose command line contains `marker`, seen through the host's /proc.
size_t processes_with_marker(const std::string& marker);

// Waits up to a second for them to be gone; returns how many are left.
size_t survivors(const std::string& marker);

// The checkout this test was built from (its README.md is a world-readable host file).
std::string checkout_dir();

}  // namespace s0::test
