#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/radix_sort.h"
#include "ops/sampling_weight.h"

namespace s0 {

namespace {
// SplitMix64: spreads (seed, stream) over the generator's seed space so that nearby streams and
// seeds give unrelated sequences.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

void SamplingOptions::validate() const {
  if (!(temperature >= 0.0) || !std::isfinite(temperature))
    fail("temperature must be 0 (greedy) or positive, got ", temperature);
  if (!(top_p > 0.0 && top_p <= 1.0)) fail("top_p must be in (0, 1], got ", top_p);
  if (top_k < 0) fail("top_k must be 0 (all tokens) or positive, got ", top_k);
}

int64_t argmax(const float* logits, int64_t n) {
  return std::max_element(logits, logits + n) - logits;
}

TokenSampler::TokenSampler(const SamplingOptions& options, uint64_t stream)
    : options_(options), rng_(mix(mix(options.seed) ^ stream)) {}

int64_t TokenSampler::next(const float* logits, int64_t vocab) {
  if (greedy()) return argmax(logits, vocab);
  if (vocab > ops::kMaxSampledVocab)
    fail("internal: sampling from ", vocab, " tokens (at most ", ops::kMaxSampledVocab, ")");
  // Tokens as keys that sort from most to least likely, ties by id, so the order is fully
  // determined: the logit's bits made order-preserving and inverted (ops::ascending_bits, which
  // the GPU's draw orders by too), above the id. Plain integers sort several times faster than ids compared
  // through their logits, which matters for flat rows whose nucleus is most of the vocabulary.
  // The row's two tables are written before they are read, each entry that is read: no zero fill
  // (4 MB a token at Qwen3.5's vocabulary).
  const auto key_table = std::make_unique_for_overwrite<uint64_t[]>(static_cast<size_t>(vocab));
  uint64_t* const keys = key_table.get();
  uint64_t first = ~uint64_t{0};
  for (int64_t i = 0; i < vocab; ++i) {
    keys[i] = static_cast<uint64_t>(~ops::ascending_bits(logits[i])) << 32 | static_cast<uint64_t>(i);
    first = std::min(first, keys[i]);
  }
  auto id_of = [](uint64_t key) { return static_cast<int64_t>(key & 0xffffffffu); };
  // Weights are relative to the most likely token in this order, as on the GPU: the largest logit,
  // or NaN where the row has one (every weight is then 0).
  const float top = logits[id_of(first)];
  const int64_t k = options_.kept_by_top_k(vocab);
  if (k < vocab) std::nth_element(keys, keys + k, keys + vocab);
  uint64_t* const set_end = keys + k;  // the top-k set (all tokens when k = vocab)
  // Each kept token's weight, found once: the draws below read them as often as they need (only
  // kept tokens' entries are written, and only theirs read).
  const auto weight_of = std::make_unique_for_overwrite<uint64_t[]>(static_cast<size_t>(vocab));
  uint64_t total = 0;
  for (uint64_t* it = keys; it != set_end; ++it) {
    const int64_t id = id_of(*it);
    weight_of[static_cast<size_t>(id)] = ops::sampling_weight(logits[id], top, options_.temperature);
    total += weight_of[static_cast<size_t>(id)];
  }
  // Only the prefix the draw reaches needs sorting: ever longer prefixes are put in place until one
  // covers it. A short one by a heap over the rest (a peaked row needs no more); a long one
  // partitioned off, then radix-sorted. No token weighs more than the top one (2^40), so a prefix
  // shorter than the nucleus's reach over 2^40 cannot hold the nucleus: the first prefix is at
  // least that long (a flat row's nucleus is most of the row; a draw that cannot reach declines
  // without touching the stream, so skipping those prefixes changes no token).
  const auto shortest = static_cast<int64_t>(std::ceil(ops::nucleus_reach(options_.top_p, total) / 0x1p40));
  std::vector<int64_t> ids;
  std::vector<uint64_t> prefix_weights;
  for (int64_t n = std::min(k, std::max<int64_t>(64, shortest));; n = std::min(k, 8 * n)) {
    uint64_t* const sorted = keys + ids.size();
    if (n <= 4096) {
      std::partial_sort(sorted, keys + n, set_end);
    } else {
      if (n < k) std::nth_element(sorted, keys + n, set_end);
      radix_sort(sorted, keys + n);
    }
    for (uint64_t* it = sorted; it != keys + n; ++it) {
      ids.push_back(id_of(*it));
      prefix_weights.push_back(weight_of[static_cast<size_t>(ids.back())]);
    }
    if (const std::optional<int64_t> token = draw({ids.data(), prefix_weights.data(), n, total, n == k})) return *token;
  }
}

std::optional<int64_t> TokenSampler::draw(const Candidates& c) {
  if (greedy() || c.count < 1) fail("internal: a draw needs a temperature and at least one candidate");
  auto weight = [&](int64_t i) { return c.weights[i]; };
  // Nucleus: the shortest most likely prefix whose weight reaches top_p of the total.
  const double reach = ops::nucleus_reach(options_.top_p, c.total);
  uint64_t kept = 0;
  int64_t keep = 0;
  while (keep < c.count) {
    kept += weight(keep++);
    if (static_cast<double>(kept) >= reach) break;
  }
  if (static_cast<double>(kept) < reach && !c.all) return std::nullopt;
  uint64_t u = ops::uniform_below(take_draw_bits(), kept);
  for (int64_t i = 0; i < keep; ++i) {
    const uint64_t w = weight(i);
    if (u < w) return c.ids[i];
    u -= w;
  }
  return c.ids[keep - 1];
}

}  // namespace s0
