#include "ops/cuda/sampling.h"

#include <climits>
#include <type_traits>
#include <cub/device/device_segmented_radix_sort.cuh>

#include "core/allocator.h"
#include "core/error.h"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/stream.h"
#include "ops/sampling_weight.h"

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 1024;  // one block per row; rows are a vocabulary long

Device current_gpu() {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  return Device::cuda(device);
}

// A logit and its token, ordered as the host's argmax orders them: the larger logit, then the
// smaller index (the first maximum). NaN never wins, as it never compares greater.
struct Best {
  float v;
  int64_t i;
};

__device__ inline Best better(Best a, Best b) { return b.v > a.v || (b.v == a.v && b.i < a.i) ? b : a; }

__device__ inline Best warp_best(Best b) {
  for (int o = 16; o > 0; o >>= 1)
    b = better(b, Best{__shfl_xor_sync(0xffffffffu, b.v, o), __shfl_xor_sync(0xffffffffu, b.i, o)});
  return b;
}

__global__ void argmax_kernel(const float* logits, int64_t vocab, int64_t* out) {
  const float* row = logits + blockIdx.x * vocab;
  const Best none{-INFINITY, INT64_MAX};
  Best best = none;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) best = better(best, Best{row[j], j});
  __shared__ Best warps[32];
  best = warp_best(best);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warps[warp] = best;
  __syncthreads();
  if (warp != 0) return;
  best = warp_best(lane < static_cast<int>(blockDim.x / 32) ? warps[lane] : none);
  if (lane == 0) out[blockIdx.x] = best.i == INT64_MAX ? 0 : best.i;  // a row of NaN: the first token, as the host's
}

// totals[b] = the sum of ops::sampling_weight over the first top_k logits of sorted row b (its top
// logit first). Integers: the sum is exact whatever the order of the additions.
__global__ void totals_kernel(const float* sorted, int64_t vocab, const CandidateRequest* requests,
                              unsigned long long* totals) {
  const float* row = sorted + blockIdx.x * vocab;
  const CandidateRequest r = requests[blockIdx.x];
  unsigned long long sum = 0;
  for (int64_t j = threadIdx.x; j < r.top_k; j += blockDim.x) sum += sampling_weight(row[j], row[0], r.temperature);
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  __shared__ unsigned long long warps[32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warps[warp] = sum;
  __syncthreads();
  if (warp != 0) return;
  sum = lane < static_cast<int>(blockDim.x / 32) ? warps[lane] : 0;
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) totals[blockIdx.x] = sum;
}

}  // namespace

std::vector<int64_t> argmax_rows(const float* logits, int64_t rows, int64_t vocab) {
  if (rows == 0) return {};
  Tensor out = Tensor::empty({rows}, DType::I64, current_gpu());
  argmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(logits, vocab,
                                                                       static_cast<int64_t*>(out.device_raw_mut()));
  check_launch("argmax_rows");
  return out.to(Device::cpu()).to_i64();
}

std::vector<RowCandidates> top_candidates(const float* logits, int64_t vocab,
                                          const std::vector<CandidateRequest>& requests, int64_t count) {
  static_assert(std::is_trivially_copyable_v<CandidateRequest>);
  const Device gpu = current_gpu();
  const int64_t n = static_cast<int64_t>(requests.size()), cells = n * vocab;
  if (cells > INT_MAX) fail("internal: top_candidates over ", cells, " logits at once");
  Tensor params = Tensor::empty({static_cast<int64_t>((n * sizeof(CandidateRequest) + 7) / 8)}, DType::I64, gpu);
  copy_bytes(params.device_raw_mut(), gpu, requests.data(), Device::cpu(), n * sizeof(CandidateRequest));
  const auto* req = static_cast<const CandidateRequest*>(params.device_raw());

  // The requested rows as sort keys beside their token ids. -0 becomes +0: the host compares the
  // two as equal (ties go by id), a radix sort would put +0 first.
  Tensor keys = Tensor::empty({n, vocab}, DType::F32, gpu), sorted = Tensor::empty({n, vocab}, DType::F32, gpu);
  Tensor ids = Tensor::empty({n, vocab}, DType::I32, gpu), sorted_ids = Tensor::empty({n, vocab}, DType::I32, gpu);
  float* k = static_cast<float*>(keys.device_raw_mut());
  int32_t* id = static_cast<int32_t*>(ids.device_raw_mut());
  for_each_cell(
      n, vocab,
      [=] __device__(int64_t r, int64_t j) {
        k[r * vocab + j] = logits[req[r].row * vocab + j] + 0.0f;
        id[r * vocab + j] = static_cast<int32_t>(j);
      },
      "top_candidates keys");
  std::vector<int64_t> offsets(static_cast<size_t>(n + 1));
  for (int64_t r = 0; r <= n; ++r) offsets[r] = r * vocab;
  const Tensor bounds = upload_i64(offsets, gpu);
  const int64_t* begin = static_cast<const int64_t*>(bounds.device_raw());
  // Descending and stable: equal logits keep their id order, as the host's sort breaks ties.
  float* sk = static_cast<float*>(sorted.device_raw_mut());
  int32_t* sid = static_cast<int32_t*>(sorted_ids.device_raw_mut());
  size_t temp_bytes = 0;
  S0_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(nullptr, temp_bytes, k, sk, id, sid,
                                                                   static_cast<int>(cells), static_cast<int>(n), begin,
                                                                   begin + 1, 0, 32, stream()));
  Tensor temp = Tensor::empty({static_cast<int64_t>(temp_bytes / 8 + 1)}, DType::I64, gpu);
  S0_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(temp.device_raw_mut(), temp_bytes, k, sk, id, sid,
                                                                   static_cast<int>(cells), static_cast<int>(n), begin,
                                                                   begin + 1, 0, 32, stream()));
  Tensor totals = Tensor::empty({n}, DType::I64, gpu);
  totals_kernel<<<static_cast<unsigned>(n), kThreads, 0, stream()>>>(
      sk, vocab, req, static_cast<unsigned long long*>(totals.device_raw_mut()));
  check_launch("top_candidates totals");

  // The first `width` candidates of every row, then each keeps its top_k.
  const int64_t width = std::min(count, vocab);
  std::vector<float> host_logits(static_cast<size_t>(n * width));
  std::vector<int32_t> host_ids(static_cast<size_t>(n * width));
  S0_CUDA_CHECK(cudaMemcpy2DAsync(host_logits.data(), width * sizeof(float), sk, vocab * sizeof(float),
                                  width * sizeof(float), n, cudaMemcpyDeviceToHost, stream()));
  S0_CUDA_CHECK(cudaMemcpy2DAsync(host_ids.data(), width * sizeof(int32_t), sid, vocab * sizeof(int32_t),
                                  width * sizeof(int32_t), n, cudaMemcpyDeviceToHost, stream()));
  const std::vector<int64_t> host_totals = totals.to(Device::cpu()).to_i64();  // waits for the copies above too
  std::vector<RowCandidates> out(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t c = std::min(width, requests[r].top_k);
    out[r].ids.assign(host_ids.begin() + r * width, host_ids.begin() + r * width + c);
    out[r].logits.assign(host_logits.begin() + r * width, host_logits.begin() + r * width + c);
    out[r].total = static_cast<uint64_t>(host_totals[r]);
  }
  return out;
}

}  // namespace s0::ops::cuda
