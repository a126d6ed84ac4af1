#pragma once
// Sorting many 64-bit unsigned integers in ascending order: least significant digit first, 8 bits a
// pass, counting all eight digits' buckets in one read and skipping the passes whose digit is the
// same in every key (the host sampler's keys, generate/sampler.cpp, leave ten of the middle bits
// zero, and a flat row's logits share their top bits). Two to three times std::sort's speed on a
// flat row's quarter million keys. The same order as std::sort: the order of integers is unique.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace s0 {

inline void radix_sort(uint64_t* first, uint64_t* last) {
  const size_t n = static_cast<size_t>(last - first);
  if (n < 2) return;
  std::array<std::array<size_t, 256>, 8> count{};
  for (const uint64_t* p = first; p != last; ++p)
    for (int d = 0; d < 8; ++d) ++count[d][(*p >> (8 * d)) & 0xff];
  std::vector<uint64_t> scratch(n);
  uint64_t* from = first;
  uint64_t* to = scratch.data();
  for (int d = 0; d < 8; ++d) {
    if (count[d][(*from >> (8 * d)) & 0xff] == n) continue;  // every key has this digit
    std::array<size_t, 256> at;
    size_t sum = 0;
    for (int b = 0; b < 256; ++b) {
      at[b] = sum;
      sum += count[d][b];
    }
    for (size_t i = 0; i < n; ++i) to[at[(from[i] >> (8 * d)) & 0xff]++] = from[i];
    std::swap(from, to);
  }
  if (from != first) std::copy(from, from + n, first);
}

}  // namespace s0
