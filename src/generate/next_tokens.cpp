#include "generate/next_tokens.h"

#include <exception>

#include "core/error.h"
#include "ops/sampling.h"

namespace s0 {

std::vector<int64_t> next_tokens(const Tensor& logits, const std::vector<TokenSampler*>& samplers) {
  const int64_t vocab = logits.dim(1);
  if (logits.dim(0) != static_cast<int64_t>(samplers.size()))
    fail("internal: ", samplers.size(), " samplers for ", logits.dim(0), " rows of logits");
  std::vector<int64_t> tokens(samplers.size());
  if (logits.device().is_cpu()) {
    // Rows over the compute threads: each sampler has its own stream, so a row's token does not
    // depend on which thread draws it (a flat row of a large vocabulary takes milliseconds). An
    // error must not leave a thread of the region: the first is raised after it.
    const int64_t rows = static_cast<int64_t>(samplers.size());
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) if (rows > 1)
    for (int64_t r = 0; r < rows; ++r) {
      try {
        tokens[static_cast<size_t>(r)] = samplers[static_cast<size_t>(r)]->next(logits.f32() + r * vocab, vocab);
      } catch (...) {
#pragma omp critical(next_tokens_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return tokens;
  }
  std::vector<ops::SampleRequest> requests;
  for (size_t r = 0; r < samplers.size(); ++r) {
    if (samplers[r]->greedy()) continue;
    const SamplingOptions& o = samplers[r]->options();
    requests.push_back(
        {static_cast<int64_t>(r), o.temperature, o.kept_by_top_k(vocab), o.top_p, samplers[r]->take_draw_bits()});
  }
  if (requests.size() < samplers.size()) tokens = ops::argmax_rows(logits);  // the sampled rows' are overwritten
  const std::vector<int64_t> drawn = ops::sample_rows(logits, requests);
  for (size_t i = 0; i < requests.size(); ++i) tokens[static_cast<size_t>(requests[i].row)] = drawn[i];
  return tokens;
}

}  // namespace s0
