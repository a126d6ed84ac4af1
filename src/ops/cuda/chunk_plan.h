#pragma once
// How the chunked recurrences (gated_delta.cu, ssd.cu) cut a packed batch into chunks (plain C++:
// built on the host, read by the kernels). Chunks start at their own sequence's token 0, so a
// sequence is cut the same way alone as in any batch.
#include <cstdint>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

constexpr int kChunk = 64;  // tokens per chunk (the CPU's default too)

// The kernels' view: sequence s owns chunks [base[s], base[s + 1]); chunk c covers rows
// [row[c], row[c] + len[c]) of the packed batch, len[c] <= kChunk. The sweeps, a block per
// sequence (and head and tile) walking its chunks in order, take sequence order[z] in grid slice z:
// the sequences of most chunks first (ties in batch order), so that the blocks started last are
// short ones, not a long one that the rest of the card then waits for.
struct ChunkPlan {
  const int64_t *base, *order, *row, *len;
};

// The plan on the device: [base (n_seqs + 1) | order (n_seqs) | row (chunks) | len (chunks)].
struct ChunkTable {
  int64_t n_seqs = 0, chunks = 0;
  Tensor table;
  ChunkPlan plan() const;
};

ChunkTable chunk_table(const Varlen& seqs, Device device);

// How many sequences are a single token (decode steps: the step kernels' work).
int64_t single_token_sequences(const Varlen& seqs);

// `floats` floats of device scratch (at least one, so that an empty batch still has an address).
Tensor scratch(int64_t floats, Device device);

}  // namespace s0::ops::cuda
