#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

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
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) fail("temperature must be 0 (greedy) or positive, got ", temperature);
  if (!(top_p > 0.0 && top_p <= 1.0)) fail("top_p must be in (0, 1], got ", top_p);
  if (top_k < 0) fail("top_k must be 0 (all tokens) or positive, got ", top_k);
}

int64_t argmax(const float* logits, int64_t n) {
  return std::max_element(logits, logits + n) - logits;
}

TokenSampler::TokenSampler(const SamplingOptions& options, uint64_t stream)
    : options_(options), rng_(mix(mix(options.seed) ^ stream)) {}

int64_t TokenSampler::next(const float* logits, int64_t vocab) {
  if (options_.temperature == 0.0) return argmax(logits, vocab);
  // Candidates from most to least likely (ties by id, so the order is fully determined).
  std::vector<int64_t> ids(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) ids[i] = i;
  auto more_likely = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  const double top = *std::max_element(logits, logits + vocab);
  auto weight = [&](int64_t id) { return std::exp((logits[id] - top) / options_.temperature); };
  const int64_t k = options_.top_k > 0 ? std::min(options_.top_k, vocab) : vocab;
  if (k < vocab) {
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), more_likely);
    ids.resize(static_cast<size_t>(k));
  }
  double total = 0;
  for (int64_t id : ids) total += weight(id);
  // Nucleus: the shortest most-likely prefix whose probability reaches top_p. Only that prefix
  // needs sorting; it is found by sorting ever longer prefixes (each the same as a full sort's).
  int64_t keep = std::min<int64_t>(k, 64);
  double kept = 0;
  for (;;) {
    std::partial_sort(ids.begin(), ids.begin() + keep, ids.end(), more_likely);
    kept = 0;
    int64_t i = 0;
    for (; i < keep; ++i) {
      kept += weight(ids[i]);
      if (kept >= options_.top_p * total) break;
    }
    if (i < keep) {
      keep = i + 1;
      break;
    }
    if (keep == k) break;
    keep = std::min(k, 8 * keep);
  }
  // 53 random bits -> a uniform double in [0, 1): the same draw on every platform.
  double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * kept;
  for (int64_t i = 0; i < keep; ++i) {
    const double p = weight(ids[i]);
    if (u < p) return ids[i];
    u -= p;
  }
  return ids[keep - 1];
}

}  // namespace s0
