#include "tune/batch_packing.h"

#include <algorithm>
#include <numeric>

namespace s0 {

namespace {

std::vector<std::vector<size_t>> adjacent_runs(const std::vector<int64_t>& token_counts, int64_t budget) {
  std::vector<std::vector<size_t>> batches;
  int64_t tokens = 0;
  for (size_t i = 0; i < token_counts.size(); ++i) {
    if (batches.empty() || tokens + token_counts[i] > budget) {
      batches.emplace_back();
      tokens = 0;
    }
    batches.back().push_back(i);
    tokens += token_counts[i];
  }
  return batches;
}

std::vector<std::vector<size_t>> first_fit_decreasing(const std::vector<int64_t>& token_counts, int64_t budget) {
  std::vector<size_t> longest_first(token_counts.size());
  std::iota(longest_first.begin(), longest_first.end(), size_t{0});
  std::stable_sort(longest_first.begin(), longest_first.end(),
                   [&](size_t a, size_t b) { return token_counts[a] > token_counts[b]; });
  std::vector<std::vector<size_t>> batches;
  std::vector<int64_t> room;  // tokens left per batch
  for (size_t i : longest_first) {
    const int64_t n = token_counts[i];
    size_t b = 0;
    while (b < batches.size() && room[b] < n) ++b;
    if (b == batches.size()) {
      batches.emplace_back();
      room.push_back(budget);
    }
    batches[b].push_back(i);
    room[b] -= n;
  }
  for (auto& batch : batches) std::sort(batch.begin(), batch.end());
  return batches;
}

}  // namespace

std::vector<std::vector<size_t>> pack_batches(const std::vector<int64_t>& token_counts, int64_t budget) {
  std::vector<std::vector<size_t>> fitted = first_fit_decreasing(token_counts, budget);
  std::vector<std::vector<size_t>> runs = adjacent_runs(token_counts, budget);
  return runs.size() < fitted.size() ? runs : fitted;
}

}  // namespace s0
