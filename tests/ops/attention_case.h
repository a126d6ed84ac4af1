#pragma once
// What the attention tests share: a case (its name, heads, KV heads, head dim and the batch's
// sequence lengths, or prompt lengths for tests that decode after them, printed by its name in test
// lists), generation's calls after such prompts, and a set of per-sequence KV caches.
#include <cstdint>
#include <ostream>
#include <vector>

#include "ops/attention.h"

namespace s0::test {

struct AttentionCase {
  const char* name;
  int64_t H, Hkv, D;
  std::vector<int64_t> lengths;
};

inline void PrintTo(const AttentionCase& c, std::ostream* os) { *os << c.name; }

// The rows each sequence feeds per call in generation after these prompts: the prompts, a decode
// step, a step of one to three tokens each, and another decode step.
inline std::vector<std::vector<int64_t>> generation_calls(const std::vector<int64_t>& prompts) {
  const size_t n = prompts.size();
  std::vector<std::vector<int64_t>> calls{prompts, std::vector<int64_t>(n, 1), {}, std::vector<int64_t>(n, 1)};
  for (size_t s = 0; s < n; ++s) calls[2].push_back(1 + static_cast<int64_t>(s % 3));
  return calls;
}

// One empty cache per sequence, each keeping its rows in `dtype`, and the pointers the op takes.
struct CacheSet {
  std::vector<ops::KvCache> caches;
  std::vector<ops::KvCache*> ptrs;

  explicit CacheSet(size_t n, DType dtype = DType::F32) : caches(n) {
    for (ops::KvCache& c : caches) {
      c.dtype = dtype;
      ptrs.push_back(&c);
    }
  }
  CacheSet(const CacheSet&) = delete;  // ptrs point into caches
  CacheSet& operator=(const CacheSet&) = delete;
};

}  // namespace s0::test
