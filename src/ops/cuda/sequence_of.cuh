#pragma once
// Which sequence of a packed batch owns a row: the last s with offsets[s] <= row (binary search
// over the n_seqs + 1 offsets, as every row-parallel sequence kernel needs).
#include <cstdint>

namespace s0::ops::cuda {

__device__ inline int64_t sequence_of(int64_t row, const int64_t* offsets, int64_t n_seqs) {
  int64_t lo = 0, hi = n_seqs - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (offsets[mid] <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

}  // namespace s0::ops::cuda
