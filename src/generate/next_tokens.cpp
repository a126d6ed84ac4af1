#include "generate/next_tokens.h"

#include <exception>

#include "core/error.h"
#include "ops/sampling.h"

namespace s0 {

ChosenTokens next_tokens(const Tensor& logits, const std::vector<TokenSampler*>& samplers) {
  const int64_t vocab = logits.dim(1), rows = logits.dim(0);
  if (rows != static_cast<int64_t>(samplers.size()))
    fail("internal: ", samplers.size(), " samplers for ", rows, " rows of logits");
  ChosenTokens chosen;
  chosen.on_device = Tensor::empty({rows}, DType::I64, logits.device());
  if (logits.device().is_cpu()) {
    // Rows over the compute threads: each sampler has its own stream, so a row's token does not
    // depend on which thread draws it (a flat row of a large vocabulary takes milliseconds). An
    // error must not leave a thread of the region: the first is raised after it.
    auto* tokens = static_cast<int64_t*>(chosen.on_device.raw_mut());
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) if (rows > 1)
    for (int64_t r = 0; r < rows; ++r) {
      try {
        tokens[r] = samplers[static_cast<size_t>(r)]->next(logits.f32() + r * vocab, vocab);
      } catch (...) {
#pragma omp critical(next_tokens_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  } else {
    std::vector<ops::SampleRequest> requests;
    for (size_t r = 0; r < samplers.size(); ++r) {
      if (samplers[r]->greedy()) continue;
      const SamplingOptions& o = samplers[r]->options();
      requests.push_back(
          {static_cast<int64_t>(r), o.temperature, o.kept_by_top_k(vocab), o.top_p, samplers[r]->take_draw_bits()});
    }
    // The argmax of every row first when any is greedy: the sampled rows' are overwritten.
    if (requests.size() < samplers.size()) ops::argmax_rows(logits, chosen.on_device);
    ops::sample_rows(logits, requests, chosen.on_device);
  }
  chosen.copy = ops::HostCopy(chosen.on_device);
  return chosen;
}

}  // namespace s0
