#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "core/error.h"
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
  if (greedy()) return argmax(logits, vocab);
  if (vocab > ops::kMaxSampledVocab)
    fail("internal: sampling from ", vocab, " tokens (at most ", ops::kMaxSampledVocab, ")");
  // Candidates from most to least likely (ties by id, so the order is fully determined).
  std::vector<int64_t> ids(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) ids[i] = i;
  auto more_likely = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  const float top = logits[argmax(logits, vocab)];
  const int64_t k = options_.kept_by_top_k(vocab);
  if (k < vocab) {
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), more_likely);
    ids.resize(static_cast<size_t>(k));
  }
  uint64_t total = 0;
  for (int64_t id : ids) total += ops::sampling_weight(logits[id], top, options_.temperature);
  // Only the prefix the draw reaches needs sorting: ever longer prefixes are sorted (each the same
  // as a full sort's) until one covers it.
  std::vector<float> prefix_logits;
  for (int64_t n = std::min<int64_t>(k, 64);; n = std::min(k, 8 * n)) {
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), more_likely);
    prefix_logits.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) prefix_logits[i] = logits[ids[i]];
    if (const std::optional<int64_t> token = draw({ids.data(), prefix_logits.data(), n, total, n == k})) return *token;
  }
}

std::optional<int64_t> TokenSampler::draw(const Candidates& c) {
  if (greedy() || c.count < 1) fail("internal: a draw needs a temperature and at least one candidate");
  const float top = c.logits[0];
  auto weight = [&](int64_t i) { return ops::sampling_weight(c.logits[i], top, options_.temperature); };
  // Nucleus: the shortest most likely prefix whose weight reaches top_p of the total.
  const double reach = options_.top_p * static_cast<double>(c.total);
  uint64_t kept = 0;
  int64_t keep = 0;
  while (keep < c.count) {
    kept += weight(keep++);
    if (static_cast<double>(kept) >= reach) break;
  }
  if (static_cast<double>(kept) < reach && !c.all) return std::nullopt;
  // A uniform integer in [0, kept) from 64 random bits: the same draw on every platform.
  uint64_t u = static_cast<uint64_t>((static_cast<unsigned __int128>(rng_()) * kept) >> 64);
  for (int64_t i = 0; i < keep; ++i) {
    const uint64_t w = weight(i);
    if (u < w) return c.ids[i];
    u -= w;
  }
  return c.ids[keep - 1];
}

}  // namespace s0
