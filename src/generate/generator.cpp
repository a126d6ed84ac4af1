#include "generate/generator.h"

#include <algorithm>

#include "generate/generation_batch.h"

namespace s0 {

std::vector<Generation> generate(const HybridModel& model, const std::vector<GenerationRequest>& requests,
                                 const GenerationOptions& options, const TokenCallback& on_token) {
  std::vector<SequenceSpec> specs;
  int64_t longest_prompt = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    SamplingOptions sampling = options.sampling;
    if (requests[i].seed) sampling.seed = *requests[i].seed;
    specs.push_back({requests[i].prompt, requests[i].initial, sampling, requests[i].stream, options.max_new_tokens,
                     options.eos_ids, options.keep_logits});
    validate_sequence(model, specs.back(), "prompt " + std::to_string(i));
    longest_prompt = std::max(longest_prompt, static_cast<int64_t>(requests[i].prompt.size()));
  }
  SchedulerOptions so;
  const int64_t context = longest_prompt + options.max_new_tokens;
  so.max_batch = options.batch > 0 ? options.batch : default_generation_batch(model, context, options.cache_dtypes);
  // Where memory holds the batch at its full length, every sequence's keys take that room at once;
  // else (a batch that counts on sequences stopping early, the CPU's) caches grow by doubling.
  if (batch_holds_context(model, context, options.cache_dtypes, so.max_batch)) so.reserve_context = context;
  so.prefill_chunk = options.prefill_chunk;
  so.cuda_graphs = options.cuda_graphs;
  so.cache_dtypes = options.cache_dtypes;
  Scheduler scheduler(model, so);
  std::vector<Generation> out(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    SequenceEvents events;
    if (on_token) events.on_token = [&on_token, i](int64_t token) { return on_token(i, token); };
    events.on_finish = [&out, &options, i](Generation&& g) {
      out[i] = std::move(g);
      if (options.on_finish) options.on_finish(i, out[i]);
      if (options.progress) options.progress->advance();
    };
    scheduler.add(std::move(specs[i]), std::move(events));
  }
  while (!scheduler.idle()) scheduler.step();
  return out;
}

}  // namespace s0
