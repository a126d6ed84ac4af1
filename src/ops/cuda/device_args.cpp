#include "ops/cuda/device_args.h"

#include <mutex>

#include "core/allocator.h"
#include "core/recent_tables.h"
#include "ops/cuda/check.h"
#include "ops/cuda/graph.h"

namespace s0::ops::cuda {

namespace {

// Tables up to kKeptValues values, the last kKeptTables of them (at most 4 MiB of GPU memory): a
// decode step's tables are a few per layer, about 60 for Qwen3.5-4B, and at batch 256 the largest
// (the recurrence's: two addresses and an offset per sequence) has 769 values.
constexpr size_t kKeptValues = 4096;
constexpr size_t kKeptTables = 128;

// While a graph is recorded, the copy runs at once, outside it (a synchronous copy on the legacy
// stream, which the backend's non-blocking stream does not wait for): the graph's kernels read the
// table as it is now, at every replay.
Tensor upload_now(const std::vector<int64_t>& values, Device device) {
  Tensor out = Tensor::empty({static_cast<int64_t>(values.size())}, DType::I64, device);
  if (values.empty()) return out;
  if (recording_graph())
    S0_CUDA_CHECK(cudaMemcpy(out.device_raw_mut(), values.data(), out.nbytes(), cudaMemcpyHostToDevice));
  else
    copy_bytes(out.device_raw_mut(), device, values.data(), Device::cpu(), out.nbytes());
  return out;
}

// A graph being recorded keeps the tables its kernels read, whoever else drops them.
Tensor kept_for_replays(Tensor table) {
  keep_for_replays(table);
  return table;
}

}  // namespace

Tensor upload_i64(const std::vector<int64_t>& values, Device device) {
  if (values.size() > kKeptValues) return kept_for_replays(upload_now(values, device));
  // Never freed: kept tables must not outlive the allocator at exit.
  static auto* kept = new RecentTables<Tensor>(kKeptTables);
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return kept_for_replays(kept->get(device.index, values, [&] { return upload_now(values, device); }));
}

}  // namespace s0::ops::cuda
