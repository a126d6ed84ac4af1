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
  // Each sampled row's first candidates; the rows whose nucleus runs past them (near-flat rows, as a
  // random model's) then get their whole row, sorted on the GPU all at once, rather than one by one
  // on the host.
  std::vector<ops::CandidateRequest> more;
  auto draw_from = [&](const ops::CandidateRequest& request, const ops::RowCandidates& c) {
    const int64_t count = static_cast<int64_t>(c.ids.size());
    const std::optional<int64_t> drawn = samplers[static_cast<size_t>(request.row)]->draw(
        {c.ids.data(), c.logits.data(), count, c.total, count == request.top_k});
    if (drawn) tokens[static_cast<size_t>(request.row)] = *drawn;
    return drawn.has_value();
  };
  const std::vector<ops::RowCandidates> candidates = ops::top_candidates(logits, requests, kGpuCandidates);
  for (size_t i = 0; i < requests.size(); ++i)
    if (!draw_from(requests[i], candidates[i])) more.push_back(requests[i]);
  if (more.empty()) return tokens;
  const std::vector<ops::RowCandidates> whole = ops::top_candidates(logits, more, vocab);
  for (size_t i = 0; i < more.size(); ++i)
    if (!draw_from(more[i], whole[i])) fail("internal: no token drawn from row ", more[i].row, "'s every candidate");
  return tokens;
}

}  // namespace s0
