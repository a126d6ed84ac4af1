#include "ops/cuda/chunk_plan.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "ops/cuda/device_args.h"

namespace s0::ops::cuda {

ChunkPlan ChunkTable::plan() const {
  const int64_t* t = static_cast<const int64_t*>(table.device_raw());
  const int64_t* order = t + n_seqs + 1;
  return {t, order, order + n_seqs, order + n_seqs + chunks};
}

ChunkTable chunk_table(const Varlen& seqs, Device device) {
  const int64_t n = seqs.n_seqs();
  std::vector<int64_t> base{0}, row, len;
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t t = 0; t < seqs.length(s); t += kChunk) {
      row.push_back(seqs.begin(s) + t);
      len.push_back(std::min<int64_t>(kChunk, seqs.length(s) - t));
    }
    base.push_back(static_cast<int64_t>(row.size()));
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  auto chunks_of = [&](int64_t s) { return base[static_cast<size_t>(s) + 1] - base[static_cast<size_t>(s)]; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return chunks_of(a) > chunks_of(b); });
  ChunkTable t;
  t.n_seqs = n;
  t.chunks = static_cast<int64_t>(row.size());
  base.insert(base.end(), order.begin(), order.end());
  base.insert(base.end(), row.begin(), row.end());
  base.insert(base.end(), len.begin(), len.end());
  t.table = upload_i64(base, device);
  return t;
}

Tensor scratch(int64_t floats, Device device) {
  return Tensor::empty({std::max<int64_t>(floats, 1)}, DType::F32, device);
}

int64_t single_token_sequences(const Varlen& seqs) {
  int64_t n = 0;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) n += seqs.length(s) == 1;
  return n;
}

}  // namespace s0::ops::cuda
