#include "ops/cuda/device_args.h"

#include <mutex>

#include "core/allocator.h"
#include "core/recent_tables.h"

namespace s0::ops::cuda {

namespace {

// Tables up to kKeptValues values, the last kKeptTables of them (at most 4 MiB of GPU memory): a
// decode step's tables are a few per layer, about 60 for Qwen3.5-4B, and at batch 256 the largest
// (the recurrence's: two addresses and an offset per sequence) has 769 values.
constexpr size_t kKeptValues = 4096;
constexpr size_t kKeptTables = 128;

Tensor upload_now(const std::vector<int64_t>& values, Device device) {
  Tensor out = Tensor::empty({static_cast<int64_t>(values.size())}, DType::I64, device);
  if (!values.empty()) copy_bytes(out.device_raw_mut(), device, values.data(), Device::cpu(), out.nbytes());
  return out;
}

}  // namespace

Tensor upload_i64(const std::vector<int64_t>& values, Device device) {
  if (values.size() > kKeptValues) return upload_now(values, device);
  // Never freed: kept tables must not outlive the allocator at exit.
  static auto* kept = new RecentTables<Tensor>(kKeptTables);
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return kept->get(device.index, values, [&] { return upload_now(values, device); });
}

}  // namespace s0::ops::cuda
