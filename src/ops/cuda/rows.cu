#include "ops/cuda/rows.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/tensor.h"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/device_args.h"

namespace s0::ops::cuda {

namespace {

// The host's integers on the current GPU. The buffer goes back to the caching allocator when the
// caller returns; kernels and copies all run on the GPU's one stream, so its next user is ordered
// after the kernel that reads it.
Tensor upload(const std::vector<int64_t>& values) {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  return upload_i64(values, Device::cuda(device));
}

// dst[i] = scale * table[index[i]] for a table of float or __nv_bfloat16.
template <typename T>
void gather(const T* table, const int64_t* idx, int64_t n, int64_t d, float scale, float* dst) {
  if (n == 0) return;
  for_each_cell(
      n, d,
      [=] __device__(int64_t i, int64_t j) { dst[i * d + j] = static_cast<float>(table[idx[i] * d + j]) * scale; },
      "gather_rows");
}

}  // namespace

void gather_rows(const float* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst) {
  gather(table, index, n, d, scale, dst);
}

void gather_bf16_rows(const void* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst) {
  gather(static_cast<const __nv_bfloat16*>(table), index, n, d, scale, dst);
}

void take_or_keep_i64(const std::vector<int64_t>& values, const int64_t* from, const std::vector<int64_t>& take,
                      int64_t* dst) {
  const int64_t n = static_cast<int64_t>(values.size());
  if (n == 0) return;
  std::vector<int64_t> packed = values;  // one upload: [values (n) | take (n)]
  packed.insert(packed.end(), take.begin(), take.end());
  const Tensor table = upload(packed);
  const auto* kept = static_cast<const int64_t*>(table.device_raw());
  for_each_cell(
      1, n,
      [=] __device__(int64_t, int64_t i) {
        const int64_t t = kept[n + i];
        dst[i] = t >= 0 ? from[t] : kept[i];
      },
      "take_or_keep_i64");
}

void scatter_add_rows(const float* src, const int64_t* host_index, int64_t n, int64_t d, float scale, float* dst) {
  if (n == 0) return;
  // Sources grouped by destination, in index order within a group (stable): one upload of
  // [destination rows (U) | group starts (U + 1) | source rows (n)].
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return host_index[a] < host_index[b]; });
  std::vector<int64_t> rows, starts;
  for (int64_t s = 0; s < n; ++s)
    if (s == 0 || host_index[order[s]] != host_index[order[s - 1]]) {
      rows.push_back(host_index[order[s]]);
      starts.push_back(s);
    }
  starts.push_back(n);
  const int64_t groups = static_cast<int64_t>(rows.size());
  std::vector<int64_t> packed = rows;
  packed.insert(packed.end(), starts.begin(), starts.end());
  packed.insert(packed.end(), order.begin(), order.end());
  const Tensor plan = upload(packed);
  const int64_t* dst_rows = static_cast<const int64_t*>(plan.device_raw());
  const int64_t* begin = dst_rows + groups;
  const int64_t* sources = begin + groups + 1;
  for_each_cell(
      groups, d,
      [=] __device__(int64_t u, int64_t j) {
        float acc = dst[dst_rows[u] * d + j];
        for (int64_t s = begin[u]; s < begin[u + 1]; ++s) acc += scale * src[sources[s] * d + j];
        dst[dst_rows[u] * d + j] = acc;
      },
      "scatter_add_rows");
}

void scale(float* x, int64_t n, float s) {
  for_each_cell(1, n, [=] __device__(int64_t, int64_t i) { x[i] *= s; }, "scale");
}

void add(float* dst, const std::vector<const float*>& srcs, int64_t n) {
  if (srcs.empty() || n == 0) return;
  std::vector<int64_t> addresses;
  for (const float* p : srcs) addresses.push_back(address_value(p));
  const Tensor table = upload(addresses);
  const auto* from = static_cast<const int64_t*>(table.device_raw());
  const int count = static_cast<int>(srcs.size());
  for_each_cell(
      1, n,
      [=] __device__(int64_t, int64_t i) {
        float v = dst[i];
        for (int k = 0; k < count; ++k) v += reinterpret_cast<const float*>(from[k])[i];
        dst[i] = v;
      },
      "add");
}

}  // namespace s0::ops::cuda
