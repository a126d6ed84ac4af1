#pragma once
// How much memory the machine can still give a process, as the kernel estimates it.
#include <cstdint>
#include <string>

namespace s0 {

// MemAvailable from /proc/meminfo in bytes; -1 where the file or the field is missing.
int64_t available_memory_bytes();
// The same from meminfo-formatted text (lines "Name:   value kB"); -1 when the field is absent.
int64_t available_memory_bytes(const std::string& meminfo);

}  // namespace s0
