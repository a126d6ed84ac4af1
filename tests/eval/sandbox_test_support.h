#pragma once
// What the sandbox tests share: the sandbox under test, short limits, and a way to see from the
// host whether anything a program started is still running (as root and as an ordinary user).
#include <string>

#include "eval/sandbox.h"

namespace s0::test {

// One sandbox for the whole test binary (opening one runs a probe program).
const Sandbox& sandbox();

// Why the sandbox cannot work here, when that is the machine's doing and not s0's: an ordinary
// user on a kernel without unprivileged user namespaces. As root it is always "" (a failure to
// open is then a test failure, from sandbox()).
std::string sandbox_unavailable_reason();

// First line of every test that needs bubblewrap: skipped, with the reason, where it cannot work.
#define S0_REQUIRE_SANDBOX()                                                               \
  do {                                                                                     \
    std::string s0_why_not = ::s0::test::sandbox_unavailable_reason();                     \
    if (!s0_why_not.empty()) GTEST_SKIP() << "no sandbox for an ordinary user here: " << s0_why_not; \
  } while (0)

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
