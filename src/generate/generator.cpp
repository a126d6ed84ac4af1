#include "generate/generator.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "model/forward.h"

namespace s0 {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::eos: return "eos";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
  }
  return "?";
}

namespace {

void validate(const HybridModel& model, const std::vector<GenerationRequest>& requests, const GenerationOptions& o) {
  if (o.max_new_tokens < 1) fail("max_new_tokens must be at least 1, got ", o.max_new_tokens);
  if (o.batch < 1) fail("batch must be at least 1, got ", o.batch);
  o.sampling.validate();
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::vector<int64_t>& p = requests[i].prompt;
    if (p.empty()) fail("prompt ", i, " is empty: generation needs at least one token to start from");
    if (model.max_positions > 0 && static_cast<int64_t>(p.size()) > model.max_positions)
      fail("prompt ", i, " has ", p.size(), " tokens, more than the model's position limit of ", model.max_positions);
    for (size_t t = 0; t < p.size(); ++t)
      if (p[t] < 0 || p[t] >= model.vocab)
        fail("prompt ", i, " position ", t, ": token id ", p[t], " is outside the vocabulary [0, ", model.vocab, ")");
  }
}

// One sequence being decoded.
struct Active {
  size_t index;  // into requests
  SequenceCache cache;
  TokenSampler sampler;
  std::vector<int64_t> next_input;  // the tokens the next forward feeds (the prompt, then one token)
};

std::vector<size_t> mixers_per_block(const HybridModel& model) {
  std::vector<size_t> n;
  for (const Block& b : model.blocks) n.push_back(b.mixers.size());
  return n;
}

// Runs a wave of requests to the end.
void run_wave(const HybridModel& model, const std::vector<GenerationRequest>& requests, size_t begin, size_t end,
              const GenerationOptions& o, const TokenCallback& on_token, std::vector<Generation>& out) {
  const std::vector<size_t> shape = mixers_per_block(model);
  std::vector<std::unique_ptr<Active>> active;
  for (size_t i = begin; i < end; ++i)
    active.push_back(std::make_unique<Active>(
        Active{i, SequenceCache(shape), TokenSampler(o.sampling, requests[i].stream), requests[i].prompt}));

  while (!active.empty()) {
    // The same forward for the prefill (whole prompts) and every decode step (one token each).
    std::vector<std::vector<int64_t>> inputs;
    std::vector<const StateSet*> initial;
    std::vector<SequenceCache*> caches;
    for (auto& a : active) {
      inputs.push_back(a->next_input);
      initial.push_back(requests[a->index].initial);
      caches.push_back(&a->cache);
    }
    const PackedBatch batch = PackedBatch::from_sequences(inputs, initial, caches);
    ForwardOptions fo;
    for (int64_t s = 0; s < batch.n_seqs(); ++s) fo.logit_rows.push_back(batch.begin(s) + batch.length(s) - 1);
    const ForwardOutput fwd = forward(model, batch, fo);
    const Tensor logits = fwd.logits.to(Device::cpu());  // sampling runs on the host

    std::vector<std::unique_ptr<Active>> still;
    for (size_t s = 0; s < active.size(); ++s) {
      Active& a = *active[s];
      Generation& g = out[a.index];
      a.cache.length += static_cast<int64_t>(a.next_input.size());
      const float* row = logits.f32() + static_cast<int64_t>(s) * model.vocab;
      if (o.keep_logits) g.logits.emplace_back(row, row + model.vocab);
      const int64_t token = a.sampler.next(row, model.vocab);
      if (std::find(o.eos_ids.begin(), o.eos_ids.end(), token) != o.eos_ids.end()) {
        g.finish = FinishReason::eos;
        continue;
      }
      g.tokens.push_back(token);
      if (on_token && on_token(a.index, token)) {
        g.finish = FinishReason::stop;
        continue;
      }
      // The token just sampled would be fed at position cache.length.
      const bool at_limit = model.max_positions > 0 && a.cache.length >= model.max_positions;
      if (static_cast<int64_t>(g.tokens.size()) >= o.max_new_tokens || at_limit) {
        g.finish = FinishReason::length;
        continue;
      }
      a.next_input = {token};
      still.push_back(std::move(active[s]));
    }
    active = std::move(still);
  }
}

}  // namespace

std::vector<Generation> generate(const HybridModel& model, const std::vector<GenerationRequest>& requests,
                                 const GenerationOptions& options, const TokenCallback& on_token) {
  validate(model, requests, options);
  std::vector<Generation> out(requests.size());
  for (size_t begin = 0; begin < requests.size(); begin += static_cast<size_t>(options.batch))
    run_wave(model, requests, begin, std::min(requests.size(), begin + static_cast<size_t>(options.batch)), options,
             on_token, out);
  return out;
}

}  // namespace s0
