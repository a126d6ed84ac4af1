#include "ops/cuda/sampling.h"

#include <algorithm>
#include <climits>
#include <type_traits>
#include <cub/block/block_scan.cuh>
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

// The first index j < top_k of a sorted row whose prefix weight (ops::sampling_weight summed over
// 0..j) satisfies `reached`, and that prefix weight; top_k and the whole total when none does.
// `reached` must hold for every prefix past the first that does (weights are never negative, so
// "at least x" and "above x" do). The block walks the row a tile at a time, scanning the weights.
struct Reach {
  int64_t index;
  unsigned long long prefix;
};

constexpr int kDrawThreads = 512;  // a draw's thread holds several 64-bit sums: 1024 would not fit
constexpr int kItems = 4;          // weights per thread per tile

template <class Reached>
__device__ Reach first_reaching(const float* row, const SampleRequest& r, Reached reached) {
  using Scan = cub::BlockScan<unsigned long long, kDrawThreads>;
  __shared__ typename Scan::TempStorage scan;
  __shared__ unsigned long long first;  // the smallest index reaching, in this tile
  __shared__ unsigned long long first_prefix;
  const float top = row[0];
  unsigned long long carry = 0;  // the weight of every tile before this one
  for (int64_t base = 0; base < r.top_k; base += int64_t{kDrawThreads} * kItems) {
    const int64_t mine = base + int64_t{threadIdx.x} * kItems;
    unsigned long long w[kItems], prefix[kItems], tile = 0;
    for (int i = 0; i < kItems; ++i) w[i] = mine + i < r.top_k ? sampling_weight(row[mine + i], top, r.temperature) : 0;
    if (threadIdx.x == 0) first = ULLONG_MAX;
    Scan(scan).InclusiveSum(w, prefix, tile);  // its barrier also orders the reset above
    for (int i = 0; i < kItems; ++i)
      if (mine + i < r.top_k && reached(carry + prefix[i])) {
        atomicMin(&first, static_cast<unsigned long long>(mine + i));
        break;
      }
    __syncthreads();
    const unsigned long long at = first;
    if (at != ULLONG_MAX) {
      if (static_cast<int64_t>(at) >= mine && static_cast<int64_t>(at) < mine + kItems)
        first_prefix = carry + prefix[at - mine];
      __syncthreads();
      return {static_cast<int64_t>(at), first_prefix};
    }
    carry += tile;
    __syncthreads();  // the scan's storage is reused by the next tile
  }
  return {r.top_k, carry};
}

// out[b] = the token request b draws from its row, sorted descending with its ids: the nucleus is
// the shortest prefix of the top_k whose weight reaches top_p of their total, and the token the one
// whose span of the nucleus's weight holds uniform_below(random, nucleus weight); TokenSampler::draw.
__global__ void __launch_bounds__(kDrawThreads) draw_kernel(const float* sorted, const int32_t* sorted_ids, int64_t vocab,
                            const SampleRequest* requests, int64_t* out) {
  const float* row = sorted + blockIdx.x * vocab;
  const SampleRequest r = requests[blockIdx.x];
  const unsigned long long total = first_reaching(row, r, [](unsigned long long) { return false; }).prefix;
  const double reach = nucleus_reach(r.top_p, total);
  const Reach nucleus =
      first_reaching(row, r, [=](unsigned long long w) { return static_cast<double>(w) >= reach; });
  const unsigned long long u = uniform_below(r.random, nucleus.prefix);
  // No prefix passes u only when every weight is 0 (a row of NaN, or one whose top logit is
  // infinite): then the nucleus's last token, as TokenSampler::draw falls back to.
  const int64_t at = min(first_reaching(row, r, [=](unsigned long long w) { return w > u; }).index, nucleus.index);
  if (threadIdx.x == 0) out[blockIdx.x] = sorted_ids[blockIdx.x * vocab + at];
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

namespace {

// sample_rows for requests few enough that their rows' sort buffers stay small.
std::vector<int64_t> sample_some_rows(const float* logits, int64_t vocab, const std::vector<SampleRequest>& requests) {
  static_assert(std::is_trivially_copyable_v<SampleRequest>);
  const Device gpu = current_gpu();
  const int64_t n = static_cast<int64_t>(requests.size()), cells = n * vocab;
  Tensor params = Tensor::empty({static_cast<int64_t>((n * sizeof(SampleRequest) + 7) / 8)}, DType::I64, gpu);
  copy_bytes(params.device_raw_mut(), gpu, requests.data(), Device::cpu(), n * sizeof(SampleRequest));
  const auto* req = static_cast<const SampleRequest*>(params.device_raw());

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
      "sample_rows keys");
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
  Tensor out = Tensor::empty({n}, DType::I64, gpu);
  draw_kernel<<<static_cast<unsigned>(n), kDrawThreads, 0, stream()>>>(sk, sid, vocab, req,
                                                                   static_cast<int64_t*>(out.device_raw_mut()));
  check_launch("sample_rows draw");
  return out.to(Device::cpu()).to_i64();
}

}  // namespace

std::vector<int64_t> sample_rows(const float* logits, int64_t vocab, const std::vector<SampleRequest>& requests) {
  // Rows in groups of at most 2^26 logits: four sort buffers of a group take 1 GiB.
  const size_t group = static_cast<size_t>(std::max<int64_t>(1, (int64_t{1} << 26) / vocab));
  std::vector<int64_t> tokens;
  for (size_t first = 0; first < requests.size(); first += group) {
    const std::vector<SampleRequest> some(requests.begin() + first,
                                          requests.begin() + std::min(requests.size(), first + group));
    const std::vector<int64_t> drawn = sample_some_rows(logits, vocab, some);
    tokens.insert(tokens.end(), drawn.begin(), drawn.end());
  }
  return tokens;
}

}  // namespace s0::ops::cuda
