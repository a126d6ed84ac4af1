#pragma once
// FNV-1a, 64 bits, in hex: tells two versions of some bytes apart (files, training data); not a
// security measure.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace s0 {

inline std::string content_digest(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace s0
