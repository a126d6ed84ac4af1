#pragma once
// Batched incremental decoding over token ids for a fixed list of requests (`s0 generate`,
// `s0 collect`, `s0 eval`): every request goes through the continuous-batching Scheduler
// (scheduler.h), up to `batch` sequences at a time, a new one joining as soon as one ends. Each
// sequence carries a SequenceCache (attention keys/values, conv windows, recurrent states) that
// the model's layer forwards extend, so a decode step costs one token per sequence. A sequence's
// adapter only sets the state its recurrent layers start from: decoding costs the same with or
// without one.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "generate/sampler.h"
#include "generate/scheduler.h"
#include "model/batch.h"
#include "model/model.h"

namespace s0 {

struct GenerationRequest {
  std::vector<int64_t> prompt;
  const StateSet* initial = nullptr;  // an activated adapter (shared, not copied); null = none
  uint64_t stream = 0;                // seeds this sequence's sampler; use its index in the run
  // The sampling seed for this request (runs of different seeds generated together, `s0
  // experiment`'s); unset: options.sampling.seed.
  std::optional<uint64_t> seed{};
};

struct GenerationOptions {
  int64_t max_new_tokens = 128;
  SamplingOptions sampling;
  std::vector<int64_t> eos_ids;  // a sequence ends when it samples one (not included in its tokens)
  int64_t batch = 0;             // sequences decoded together; 0: default_generation_batch (generation_batch.h)
  int64_t prefill_chunk = SchedulerOptions{}.prefill_chunk;  // see SchedulerOptions
  bool keep_logits = false;      // keep each step's logits row (tests, scoring)
  bool cuda_graphs = SchedulerOptions{}.cuda_graphs;  // see SchedulerOptions
  CacheDtypes cache_dtypes;  // see SchedulerOptions
  Progress* progress = nullptr;  // when set, advanced by one as each request finishes
  // When set, called with each request's index and generation as it finishes (from the thread
  // that generates).
  std::function<void(size_t index, const Generation& generation)> on_finish;
};

// Called for every new token of request `index` (not EOS); returning true ends that sequence with
// FinishReason::stop (a stop string, say). Calls arrive in token order for each sequence.
using TokenCallback = std::function<bool(size_t index, int64_t token)>;

// Fails (one line naming the request) on an empty prompt, a token id outside the vocabulary, a
// prompt that reaches the model's position limit, or max_new_tokens < 1. Generation stops
// early at the position limit with FinishReason::length.
std::vector<Generation> generate(const HybridModel& model, const std::vector<GenerationRequest>& requests,
                                 const GenerationOptions& options, const TokenCallback& on_token = {});

}  // namespace s0
