#include "generate/next_tokens.h"

#include <algorithm>

#include "core/error.h"
#include "ops/sampling.h"

namespace s0 {

std::vector<int64_t> next_tokens(const Tensor& logits, const std::vector<TokenSampler*>& samplers) {
  const int64_t vocab = logits.dim(1);
  if (logits.dim(0) != static_cast<int64_t>(samplers.size()))
    fail("internal: ", samplers.size(), " samplers for ", logits.dim(0), " rows of logits");
  std::vector<int64_t> tokens(samplers.size());
  if (logits.device().is_cpu()) {
    for (size_t r = 0; r < samplers.size(); ++r)
      tokens[r] = samplers[r]->next(logits.f32() + static_cast<int64_t>(r) * vocab, vocab);
    return tokens;
  }
  std::vector<ops::CandidateRequest> requests;
  for (size_t r = 0; r < samplers.size(); ++r) {
    const SamplingOptions& o = samplers[r]->options();
    if (!samplers[r]->greedy()) requests.push_back({static_cast<int64_t>(r), o.temperature, o.kept_by_top_k(vocab)});
  }
  if (requests.size() < samplers.size()) tokens = ops::argmax_rows(logits);  // the sampled rows' are overwritten
  const std::vector<ops::RowCandidates> candidates = ops::top_candidates(logits, requests, kGpuCandidates);
  for (size_t i = 0; i < requests.size(); ++i) {
    const ops::RowCandidates& c = candidates[i];
    const int64_t r = requests[i].row, count = static_cast<int64_t>(c.ids.size());
    TokenSampler& sampler = *samplers[static_cast<size_t>(r)];
    const std::optional<int64_t> drawn =
        sampler.draw({c.ids.data(), c.logits.data(), count, c.total, count == requests[i].top_k});
    if (drawn) {
      tokens[static_cast<size_t>(r)] = *drawn;
    } else {
      const Tensor row = logits.slice(r, 1).to(Device::cpu());
      tokens[static_cast<size_t>(r)] = sampler.next(row.f32(), vocab);
    }
  }
  return tokens;
}

}  // namespace s0
