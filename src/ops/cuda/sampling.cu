#include "ops/cuda/sampling.h"

#include <algorithm>
#include <climits>
#include <type_traits>
#include <cub/block/block_scan.cuh>

#include "core/allocator.h"
#include "core/error.h"
#include "ops/cuda/check.h"
#include "ops/cuda/chunked_recurrence.cuh"
#include "ops/cuda/device_args.h"
#include "ops/cuda/stream.h"
#include "ops/sampling_weight.h"

namespace s0::ops::cuda {

namespace {

Device current_gpu() {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  return Device::cuda(device);
}

// Argmax: the rows are cut into slices, a block each, so that one row (batch 1) is read by many
// SMs: a block per row took 96 us of a 3.35 ms decode step of Qwen3.5-4B's shape at batch 1 (one SM
// reading 1 MB); sliced, the step takes 3.29-3.30 ms against 3.37-3.39 (H200, decode_bench). A
// block's best logit and token make a 64-bit key, the logit's ascending bits above the token's
// complement: the larger logit wins, then the smaller token (the first maximum, as the host's
// argmax). keys[row] takes the blocks' keys by atomicMax, the same result in any order. NaN never
// wins (it is skipped); a row of NaN keeps 0, below every real key: token 0. The keys are the
// tokens' own memory, each turned into its token by argmax_token_kernel after.
constexpr int kArgmaxThreads = 256;
constexpr int64_t kArgmaxSlice = 4096;        // the least slice a block takes
constexpr int64_t kArgmaxBlocksWanted = 512;  // enough to keep every SM reading

__global__ void __launch_bounds__(kArgmaxThreads) argmax_kernel(const float* logits, int64_t vocab, int64_t slice,
                                                                unsigned long long* keys) {
  const float* row = logits + blockIdx.y * vocab;
  const int64_t end = min(vocab, (blockIdx.x + 1) * slice);
  unsigned long long best = 0;
  for (int64_t j = blockIdx.x * slice + threadIdx.x; j < end; j += kArgmaxThreads) {
    const float v = row[j];
    if (v == v) best = max(best, static_cast<unsigned long long>(ascending_bits(v)) << 32 | (0xffffffffu - j));
  }
  for (int o = 16; o > 0; o >>= 1) best = max(best, __shfl_xor_sync(0xffffffffu, best, o));
  if (threadIdx.x % 32 == 0 && best != 0) atomicMax(&keys[blockIdx.y], best);
}

// A row's key (in place) -> its token: the low half holds the token's complement; 0 (no key) is token 0.
__global__ void argmax_token_kernel(int64_t rows, unsigned long long* keys) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r >= rows) return;
  const unsigned long long k = keys[r];
  keys[r] = k == 0 ? 0 : 0xffffffffull - (k & 0xffffffffull);
}

// A sampled row's draw without sorting it: TokenSampler::next orders the tokens by a 64-bit key
// (the logit's bits made order-preserving and inverted, above the id; smallest first), and every
// quantity the draw needs is "the first token in that order whose prefix weight (the summed
// weights of it and every token before it) passes a test": the top_k-th token (weights 1), the
// nucleus's last token (prefix weight at least top_p of the total), the drawn token (prefix weight
// past the uniform point). A radix descent finds such a token: a histogram of the candidates' next
// digit of the key, each bin holding its tokens' weight and count, then the first bin (in key
// order) whose running weight passes the test fixes that digit; the digits are the order bits in
// 12, 12 and 8, then (only when several tokens share the logit) the id in 11 and 11 (ids are below
// 2^22, kMaxSampledVocab). Weights are integers, so every sum is exact in any order: the token is
// the one the host's sorted walk picks, bit for bit. A pass reads the row once and computes weights
// only for the tokens whose key starts with the digits fixed so far, so a draw costs a few reads of
// the row. It replaced a segmented radix sort of the rows: on an H200, a decode step of Qwen3.5-4B's
// shape at batch 256 sampling every row (temperature 0.7, top-p 0.95, flat random-model rows) went
// from 22.7-23.0 to 19.7 ms, the forward alone being 18.1.
constexpr int kSelectThreads = 1024;  // one block per sampled row

__device__ inline uint32_t order_bits(float logit) { return ~ascending_bits(logit); }

__device__ inline float logit_of(uint32_t order) {
  const uint32_t ascending = ~order;
  return __uint_as_float(ascending & 0x80000000u ? ascending & 0x7fffffffu : ~ascending);
}

// The digits of the key, most significant first: (shift, width).
struct Digit {
  int shift, width;
};
constexpr int kDigits = 5;
__constant__ const Digit kDigit[kDigits] = {{52, 12}, {40, 12}, {32, 8}, {11, 11}, {0, 11}};
constexpr int kMaxBins = 4096;
constexpr int kLastLogitDigit = 2;  // the digit whose bins also keep their least id

// One digit's bins in shared memory: weight and count per bin (and the least id, for the last
// digit of the logit: a bin of one token is then that token, and the id digits are skipped).
struct Bins {
  unsigned long long* weight;
  unsigned* count;
  unsigned* least_id;  // null but for kLastLogitDigit
};

// Three sets of bins: the first digit's (kept across descents: the nucleus's histogram of it is
// the draw's too), the last logit digit's, and one for the rest. What a set holds is remembered by
// the digit and the key prefix it was made for, so a descent that follows an earlier one's path
// reuses its histograms. Shared memory: kSelectSmem bytes (about 100 KB).
constexpr int kSets = 3;
__host__ __device__ constexpr int set_bins(int set) { return set == 1 ? 1 << 8 : kMaxBins; }
__host__ __device__ constexpr size_t set_bytes(int set) {
  return size_t(set_bins(set)) * (sizeof(unsigned long long) + (set == 1 ? 2 : 1) * sizeof(unsigned));
}
constexpr size_t kSelectSmem = set_bytes(0) + set_bytes(1) + set_bytes(2);

using BinScan = cub::BlockScan<unsigned long long, kSelectThreads>;

struct Histograms {
  Bins set[kSets];
  int* made_digit;                 // [kSets], -1: nothing
  unsigned long long* made_known;  // [kSets]
  BinScan::TempStorage* scan;

  __device__ static int set_of(int digit) { return digit == 0 ? 0 : digit == kLastLogitDigit ? 1 : 2; }
};

// What a token weighs in a descent: 1 (to count tokens), or its sampling weight.
struct Weigher {
  bool counts;
  float top;
  double temperature;
  __device__ unsigned long long operator()(float logit) const {
    return counts ? 1 : sampling_weight(logit, top, temperature);
  }
};

// The test a prefix weight w passes: never (the descent then only sums the weights), w >= count,
// w >= reach (compared as doubles, as the nucleus is), w > bound.
struct Test {
  enum Kind { never, at_least, reaches, above } kind;
  unsigned long long count_or_bound;
  double reach;
  __device__ bool operator()(unsigned long long w) const {
    switch (kind) {
      case at_least:
        return w >= count_or_bound;
      case reaches:
        return static_cast<double>(w) >= reach;
      case above:
        return w > count_or_bound;
      default:
        return false;
    }
  }
};

// The first bin (in key order) holding a candidate whose running weight, carry plus the weights of
// its bin and every bin before it, passes `reached`: its index (-1 if none) and the weight before
// it (carry plus every bin's weight when none).
struct Crossing {
  int bin;
  unsigned long long before;
};

__device__ Crossing find_crossing(const Bins& b, int bins, unsigned long long carry, const Test& reached,
                                  BinScan::TempStorage& scan) {
  constexpr int kPer = kMaxBins / kSelectThreads;
  __shared__ int first;
  __shared__ unsigned long long first_before;
  const int b0 = static_cast<int>(threadIdx.x) * kPer;
  unsigned long long w[kPer], inclusive[kPer], total;
#pragma unroll
  for (int i = 0; i < kPer; ++i) w[i] = b0 + i < bins ? b.weight[b0 + i] : 0;
  if (threadIdx.x == 0) first = INT_MAX;
  BinScan(scan).InclusiveSum(w, inclusive, total);  // its barrier also orders the reset above
  // An empty bin is skipped: its running weight is the bin before's, whose test already failed,
  // unless nothing came before (a test that carry alone passes picks the first candidate).
#pragma unroll
  for (int i = 0; i < kPer; ++i)
    if (b0 + i < bins && b.count[b0 + i] > 0 && reached(carry + inclusive[i])) {
      atomicMin(&first, b0 + i);
      break;
    }
  __syncthreads();
  const int at = first;
  if (at != INT_MAX && at >= b0 && at < b0 + kPer) first_before = carry + inclusive[at - b0] - w[at - b0];
  __syncthreads();
  const Crossing c{at == INT_MAX ? -1 : at, at == INT_MAX ? carry + total : first_before};
  __syncthreads();  // the scan's storage and `first` are reused by the next call
  return c;
}

// Fills `b` with the candidates (keys up to `limit`) whose key has the bits `known` where `mask`
// is set, binned by digit d. The row is read kLoads floats a thread at a time so that the loads of
// a thread travel together.
__device__ void histogram(const float* __restrict__ row, int vocab, unsigned long long limit, unsigned long long known,
                          unsigned long long mask, Digit d, const Bins& b, const Weigher& weight) {
  const int bins = 1 << d.width;
  for (int i = threadIdx.x; i < bins; i += kSelectThreads) {
    b.weight[i] = 0;
    b.count[i] = 0;
    if (b.least_id) b.least_id[i] = UINT_MAX;
  }
  __syncthreads();
  constexpr int kLoads = 8;
  for (int base = threadIdx.x; base < vocab; base += kLoads * kSelectThreads) {
    float x[kLoads];
#pragma unroll
    for (int u = 0; u < kLoads; ++u) x[u] = base + u * kSelectThreads < vocab ? row[base + u * kSelectThreads] : 0.0f;
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const unsigned j = static_cast<unsigned>(base + u * kSelectThreads);
      const unsigned long long key = static_cast<unsigned long long>(order_bits(x[u])) << 32 | j;
      if (j >= static_cast<unsigned>(vocab) || key > limit || (key & mask) != known) continue;
      const int bin = static_cast<int>(key >> d.shift) & (bins - 1);
      atomicAdd(&b.weight[bin], static_cast<unsigned long long>(weight(x[u])));
      atomicAdd(&b.count[bin], 1u);
      if (b.least_id) atomicMin(&b.least_id[bin], j);
    }
  }
  __syncthreads();
}

// The first candidate in key order whose prefix weight passes `reached`, and that prefix weight;
// `found` false (and the weight of every candidate) when none does.
struct Pick {
  unsigned long long key, prefix;
  bool found;
};

__device__ __noinline__ Pick descend(const float* __restrict__ row, int vocab, unsigned long long limit,
                                     const Histograms& h, const Weigher& weight, const Test& reached) {
  unsigned long long known = 0, mask = 0, carry = 0;
  for (int digit = 0; digit < kDigits; ++digit) {
    const Digit d = kDigit[digit];
    const int set = Histograms::set_of(digit);
    const Bins& b = h.set[set];
    if (h.made_digit[set] != digit || h.made_known[set] != known) {
      __syncthreads();  // every thread has read the set's remembered digit and prefix
      histogram(row, vocab, limit, known, mask, d, b, weight);
      if (threadIdx.x == 0) {
        h.made_digit[set] = digit;
        h.made_known[set] = known;
      }
    }
    const Crossing c = find_crossing(b, 1 << d.width, carry, reached, *h.scan);  // its barriers publish the set's tag
    if (c.bin < 0) return {0, c.before, false};
    known |= static_cast<unsigned long long>(c.bin) << d.shift;
    mask |= static_cast<unsigned long long>((1 << d.width) - 1) << d.shift;
    carry = c.before;
    // The bins of the last digit, of the logit and then of the id, hold one candidate each.
    if (digit == kLastLogitDigit && b.count[c.bin] == 1)
      return {known | b.least_id[c.bin], carry + b.weight[c.bin], true};
    if (digit == kDigits - 1) return {known, carry + b.weight[c.bin], true};
  }
  return {0, carry, false};  // not reached: the last digit returns
}

// out[r.row] = the token request r draws from its row: the nucleus is the shortest prefix of the
// top_k whose weight reaches top_p of their total, and the token the one whose span of the
// nucleus's weight holds uniform_below(random, nucleus weight); TokenSampler::draw.
__global__ void __launch_bounds__(kSelectThreads, 1) draw_kernel(const float* __restrict__ logits, int vocab,
                                                              const SampleRequest* requests, int64_t* out) {
  extern __shared__ unsigned long long select_smem[];
  __shared__ int made_digit[kSets];
  __shared__ unsigned long long made_known[kSets];
  __shared__ BinScan::TempStorage scan;
  __shared__ unsigned warp_least[kSelectThreads / 32];
  const SampleRequest r = requests[blockIdx.x];
  const float* row = logits + r.row * static_cast<int64_t>(vocab);
  Histograms h{{}, made_digit, made_known, &scan};
  unsigned char* at = reinterpret_cast<unsigned char*>(select_smem);
  for (int s = 0; s < kSets; ++s) {
    auto* weight = reinterpret_cast<unsigned long long*>(at);
    auto* count = reinterpret_cast<unsigned*>(weight + set_bins(s));
    h.set[s] = {weight, count, s == Histograms::set_of(kLastLogitDigit) ? count + set_bins(s) : nullptr};
    at += set_bytes(s);
  }
  if (threadIdx.x < kSets) made_digit[threadIdx.x] = -1;

  // The most likely token's logit (the least order bits), which every weight is relative to.
  unsigned least = UINT_MAX;
  for (int j = threadIdx.x; j < vocab; j += kSelectThreads) least = min(least, order_bits(row[j]));
  for (int o = 16; o > 0; o >>= 1) least = min(least, __shfl_xor_sync(0xffffffffu, least, o));
  if (threadIdx.x % 32 == 0) warp_least[threadIdx.x / 32] = least;
  __syncthreads();
  for (int w = 0; w < kSelectThreads / 32; ++w) least = min(least, warp_least[w]);
  const Weigher weight{false, logit_of(least), r.temperature};

  unsigned long long limit = ULLONG_MAX;  // the top_k set: keys up to the top_k-th
  if (r.top_k < vocab) {
    const Test kth{Test::at_least, static_cast<unsigned long long>(r.top_k), 0.0};
    limit = descend(row, vocab, limit, h, Weigher{true, 0.0f, 1.0}, kth).key;
    __syncthreads();
    if (threadIdx.x < kSets) made_digit[threadIdx.x] = -1;  // those were counts, not weights
    __syncthreads();
  }
  const unsigned long long total = descend(row, vocab, limit, h, weight, Test{Test::never, 0, 0.0}).prefix;
  const Test reaches{Test::reaches, 0, nucleus_reach(r.top_p, total)};
  const Pick nucleus = descend(row, vocab, limit, h, weight, reaches);
  const unsigned long long u = uniform_below(r.random, nucleus.prefix);
  // No prefix passes u only when every weight is 0 (a row of NaN, or one whose top logit is
  // infinite): then the nucleus's last token, as TokenSampler::draw falls back to.
  Pick drawn = nucleus;
  if (nucleus.prefix > 0) {
    const Pick p = descend(row, vocab, limit, h, weight, Test{Test::above, u, 0.0});
    if (p.found) drawn = p;
  }
  if (threadIdx.x == 0) out[r.row] = static_cast<int64_t>(drawn.key & 0xffffffffu);
}

}  // namespace

void argmax_rows(const float* logits, int64_t rows, int64_t vocab, int64_t* tokens) {
  if (rows == 0) return;
  if (rows > 65535 || vocab >= (int64_t{1} << 32))
    fail("internal: argmax_rows takes at most 65535 rows of fewer than 2^32 logits, got ", rows, " of ", vocab);
  auto* keys = reinterpret_cast<unsigned long long*>(tokens);
  S0_CUDA_CHECK(cudaMemsetAsync(keys, 0, static_cast<size_t>(rows) * sizeof(*keys), stream()));
  const int64_t slice = std::max(kArgmaxSlice, (vocab * rows + kArgmaxBlocksWanted - 1) / kArgmaxBlocksWanted);
  const dim3 grid(static_cast<unsigned>((vocab + slice - 1) / slice), static_cast<unsigned>(rows));
  argmax_kernel<<<grid, kArgmaxThreads, 0, stream()>>>(logits, vocab, slice, keys);
  check_launch("argmax_rows");
  constexpr int kTokenThreads = 256;
  argmax_token_kernel<<<static_cast<unsigned>((rows + kTokenThreads - 1) / kTokenThreads), kTokenThreads, 0,
                        stream()>>>(rows, keys);
  check_launch("argmax_rows tokens");
}

void sample_rows(const float* logits, int64_t vocab, const std::vector<SampleRequest>& requests, int64_t* tokens) {
  static_assert(std::is_trivially_copyable_v<SampleRequest>);
  static_assert(kMaxSampledVocab <= (int64_t{1} << 22), "ids fit the key's two id digits");
  const Device gpu = current_gpu();
  const int64_t n = static_cast<int64_t>(requests.size());
  if (n == 0) return;
  Tensor params = Tensor::empty({static_cast<int64_t>((n * sizeof(SampleRequest) + 7) / 8)}, DType::I64, gpu);
  copy_bytes(params.device_raw_mut(), gpu, requests.data(), Device::cpu(), n * sizeof(SampleRequest));
  launch_with_shared(draw_kernel, dim3(static_cast<unsigned>(n)), kSelectThreads, kSelectSmem, "sample_rows draw",
                     logits, static_cast<int>(vocab), static_cast<const SampleRequest*>(params.device_raw()), tokens);
}

}  // namespace s0::ops::cuda
