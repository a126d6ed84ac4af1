#pragma once
// Which training examples share a forward/backward batch. Every batch costs a fixed share of the
// step (kernel launches, the LM head's weight reads, sweeps that wait on the longest sequence), so
// the fewest batches under the token budget make the fastest step; examples need not be adjacent.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace s0 {

// Example indices per batch, by first-fit decreasing on the token counts: each example, longest
// first (ties by index), joins the first batch it fits into, else opens a new one. On the rare
// counts where runs of adjacent examples make fewer batches, those runs instead, so the packing never
// makes more batches than adjacent runs. Every batch holds at most `budget` tokens unless it is a
// single longer example; within a batch the indices ascend. Deterministic: depends only on the counts.
std::vector<std::vector<size_t>> pack_batches(const std::vector<int64_t>& token_counts, int64_t budget);

}  // namespace s0
