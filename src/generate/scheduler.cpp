#include "generate/scheduler.h"

#include <algorithm>

#include "core/error.h"
#include "generate/next_tokens.h"
#include "model/forward.h"
#include "ops/rows.h"
#include "ops/sampling_weight.h"

namespace s0 {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::eos: return "eos";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
  }
  return "?";
}

void validate_sequence(const HybridModel& model, const SequenceSpec& spec, const std::string& what) {
  if (spec.max_new_tokens < 1) fail("max_new_tokens must be at least 1, got ", spec.max_new_tokens);
  spec.sampling.validate();
  if (spec.sampling.temperature > 0 && model.vocab > ops::kMaxSampledVocab)
    fail("sampling supports vocabularies up to ", ops::kMaxSampledVocab, " tokens; this model has ", model.vocab,
         " (use greedy decoding, temperature 0)");
  const std::vector<int64_t>& p = spec.prompt;
  if (p.empty()) fail(what, " is empty: generation needs at least one token to start from");
  if (model.max_positions > 0 && static_cast<int64_t>(p.size()) > model.max_positions)
    fail(what, " has ", p.size(), " tokens, more than the model's position limit of ", model.max_positions);
  for (size_t t = 0; t < p.size(); ++t)
    if (p[t] < 0 || p[t] >= model.vocab)
      fail(what, " position ", t, ": token id ", p[t], " is outside the vocabulary [0, ", model.vocab, ")");
}

void validate_scheduler_options(const SchedulerOptions& o) {
  if (o.max_batch < 1) fail("batch must be at least 1, got ", o.max_batch);
  if (o.prefill_chunk < 1) fail("prefill chunk must be at least 1 token, got ", o.prefill_chunk);
  if (o.step_prompt_tokens < 1) fail("prompt tokens per step must be at least 1, got ", o.step_prompt_tokens);
}

struct Scheduler::Sequence {
  uint64_t id;
  SequenceSpec spec;
  SequenceEvents events;
  SequenceCache cache;
  TokenSampler sampler;
  Generation out;
  size_t prefilled = 0;  // prompt tokens fed so far
  int64_t drawn = 0;     // tokens drawn for it, read by the host or not (an EOS counts)
  // Its row in the last step's chosen tokens, fed to it next (the step drew its last token).
  int64_t row = -1;
  // Whether its last drawn token may be fed: the sequence is below max_new_tokens and its position
  // limit. If not, it ends once the host reads that token, and is fed nothing more.
  bool may_continue = true;
  bool ended = false;  // finished or cancelled: out of the batch, kept while a step in flight names it
  // Another running sequence of the same prompt and adapter whose prefill this one waits for,
  // feeding nothing, to take a copy of its cache and its last prompt row's logits (see share_prefills).
  Sequence* leader = nullptr;

  bool prefilling() const { return prefilled < spec.prompt.size(); }
  // Drawn its last token, which the host has not read yet: it holds a slot but feeds nothing.
  bool finishing() const { return !prefilling() && !may_continue; }
};

// A step whose chosen tokens the host has not read yet: row r was drawn for rows[r].
struct Scheduler::InFlight {
  ChosenTokens tokens;
  std::vector<Sequence*> rows;
  std::vector<bool> may_continue;  // per row, the sequence's may_continue after that draw
  Tensor logits;                   // the rows' logits, for sequences that keep them
};

int64_t keys_to_reserve(const HybridModel& model, const SequenceSpec& spec, int64_t reserve_context) {
  int64_t reach = static_cast<int64_t>(spec.prompt.size()) + spec.max_new_tokens;
  if (model.max_positions > 0) reach = std::min(reach, model.max_positions);
  return reach <= reserve_context ? reach : 0;
}

Scheduler::Scheduler(const HybridModel& model, const SchedulerOptions& options)
    : model_(model), options_(options), read_late_(options.read_tokens_late.value_or(!model.device().is_cpu())) {
  validate_scheduler_options(options);
  for (const Block& b : model.blocks) mixers_per_block_.push_back(b.mixers.size());
}

Scheduler::~Scheduler() = default;

uint64_t Scheduler::add(SequenceSpec spec, SequenceEvents events) {
  validate_sequence(model_, spec, "request");
  const uint64_t id = next_id_++;
  TokenSampler sampler(spec.sampling, spec.stream);
  SequenceCache cache(mixers_per_block_, options_.cache_dtypes);
  cache.reserve_keys(keys_to_reserve(model_, spec, options_.reserve_context));
  waiting_.push_back(
      std::make_unique<Sequence>(Sequence{id, std::move(spec), std::move(events), std::move(cache), sampler, {}}));
  return id;
}

void Scheduler::cancel(uint64_t id) {
  auto has_id = [id](const std::unique_ptr<Sequence>& s) { return s->id == id; };
  std::erase_if(waiting_, has_id);
  for (auto& s : running_)  // a cancelled leader's followers prefill by themselves (share_prefills may pair them again)
    if (s->leader && s->leader->id == id) s->leader = nullptr;
  retire_if(has_id);
}

void Scheduler::retire_if(const std::function<bool(const std::unique_ptr<Sequence>&)>& done) {
  for (auto& s : running_)
    if (done(s)) {
      s->ended = true;
      // Its caches go now: a step queued with them runs before whatever takes their memory next.
      s->cache = SequenceCache(mixers_per_block_, options_.cache_dtypes);
      retired_.push_back(std::move(s));
    }
  std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return !s; });
}

void Scheduler::abort_all(const std::string& reason) {
  in_flight_.reset();  // its tokens are not delivered: the sequences end here
  last_read_.reset();
  retired_.clear();
  std::vector<std::unique_ptr<Sequence>> all = std::move(running_);
  running_.clear();
  for (auto& s : waiting_) all.push_back(std::move(s));
  waiting_.clear();
  for (auto& s : all)
    if (s->events.on_abort) s->events.on_abort(reason);
}

void Scheduler::admit() {
  int64_t holding = 0;  // slots of sequences that may still be fed
  for (const auto& s : running_) holding += s->finishing() ? 0 : 1;
  while (!waiting_.empty() && holding < options_.max_batch) {
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    ++holding;
  }
}

void Scheduler::share_prefills() {
  for (size_t i = 0; i < running_.size(); ++i) {
    Sequence& s = *running_[i];
    if (s.prefilled > 0 || s.leader) continue;  // only a sequence that has fed nothing follows
    for (size_t j = 0; j < i; ++j) {
      Sequence& l = *running_[j];
      if (!l.leader && l.prefilling() && l.spec.initial == s.spec.initial && l.spec.prompt == s.spec.prompt) {
        s.leader = &l;
        break;
      }
    }
  }
}

void Scheduler::step() {
  admit();
  share_prefills();

  // This step's inputs: decodes first (one token each: the one the last step drew, still on the
  // device), then prompt chunks, oldest first, while the step's prompt budget lasts. A chunk ends at
  // the next multiple of prefill_chunk. A sequence whose last drawn token is its last feeds nothing
  // and gives its caches back now.
  std::vector<Sequence*> fed;
  std::vector<std::vector<int64_t>> inputs;
  std::vector<int64_t> take;  // per input token: its row in the last step's tokens, or -1
  for (auto& s : running_) {
    if (s->prefilling()) continue;
    if (s->finishing()) {
      s->cache = SequenceCache(mixers_per_block_, options_.cache_dtypes);
      continue;
    }
    if (!drawn_last() || s->row < 0) fail("internal: a decoding sequence without a token drawn for it");
    fed.push_back(s.get());
    inputs.push_back({PackedBatch::kChosenOnDevice});
    take.push_back(s->row);
  }
  int64_t budget = options_.step_prompt_tokens;
  bool any_chunk = false;
  for (auto& s : running_) {
    if (!s->prefilling() || s->leader) continue;
    const size_t chunk = static_cast<size_t>(options_.prefill_chunk);
    const size_t end = std::min(s->spec.prompt.size(), (s->prefilled / chunk + 1) * chunk);
    const int64_t n = static_cast<int64_t>(end - s->prefilled);
    if (any_chunk && n > budget) break;  // FIFO: a later prompt never overtakes an earlier one
    budget -= n;
    any_chunk = true;
    fed.push_back(s.get());
    inputs.emplace_back(s->spec.prompt.begin() + static_cast<std::ptrdiff_t>(s->prefilled),
                        s->spec.prompt.begin() + static_cast<std::ptrdiff_t>(end));
    take.insert(take.end(), inputs.back().size(), -1);
  }

  std::unique_ptr<InFlight> drawn;
  if (!fed.empty()) drawn = std::make_unique<InFlight>(run_step(fed, inputs, take));
  // Read late, the last step's tokens reach the host while this one runs on the device; read at
  // once, this step's reach it now.
  if (in_flight_) read_tokens(*in_flight_);
  in_flight_.reset();
  last_read_.reset();
  if (!drawn) return;
  if (read_late_) {
    in_flight_ = std::move(drawn);
  } else {
    read_tokens(*drawn);
    last_read_ = std::move(drawn);
  }
}

Scheduler::InFlight* Scheduler::drawn_last() const { return in_flight_ ? in_flight_.get() : last_read_.get(); }

Scheduler::InFlight Scheduler::run_step(const std::vector<Sequence*>& fed,
                                        const std::vector<std::vector<int64_t>>& inputs,
                                        const std::vector<int64_t>& take) {
  std::vector<const StateSet*> initial;
  std::vector<SequenceCache*> caches;
  for (Sequence* s : fed) {
    initial.push_back(s->spec.initial);
    caches.push_back(&s->cache);
  }
  PackedBatch batch = PackedBatch::from_sequences(inputs, initial, caches);
  if (std::any_of(take.begin(), take.end(), [](int64_t t) { return t >= 0; }))
    batch.token_ids = ops::take_or_keep_i64(batch.tokens, drawn_last()->tokens.on_device, take);
  // Logits only where a token is sampled next: decodes and the last chunk of a prompt. The
  // followers of a prompt whose prefill ends here sample from a copy of its row (`picked`: each
  // sampling sequence's row of the forward's logits), never a row of their own in the LM head's
  // product, which could round differently.
  ForwardOptions fo;
  if (options_.cuda_graphs) fo.graphs = &graphs_;
  std::vector<Sequence*> sampling, followers;
  std::vector<int64_t> picked;
  for (size_t i = 0; i < fed.size(); ++i) {
    Sequence& s = *fed[i];
    if (s.prefilling()) s.prefilled += inputs[i].size();
    if (s.prefilling()) continue;
    const int64_t row = static_cast<int64_t>(fo.logit_rows.size());
    fo.logit_rows.push_back(batch.begin(static_cast<int64_t>(i)) + batch.length(static_cast<int64_t>(i)) - 1);
    sampling.push_back(&s);
    picked.push_back(row);
    for (auto& f : running_)
      if (f->leader == &s) {
        sampling.push_back(f.get());
        followers.push_back(f.get());
        picked.push_back(row);
      }
  }
  const ForwardOutput fwd = forward(model_, batch, fo);
  for (size_t i = 0; i < fed.size(); ++i) fed[i]->cache.length += static_cast<int64_t>(inputs[i].size());
  for (Sequence* f : followers) {
    f->cache = f->leader->cache.copy();
    f->prefilled = f->spec.prompt.size();
    f->leader = nullptr;
  }
  InFlight out;
  out.logits = followers.empty() ? fwd.logits : ops::gather_rows(fwd.logits, picked);
  std::vector<TokenSampler*> samplers;
  for (Sequence* s : sampling) samplers.push_back(&s->sampler);
  out.tokens = next_tokens(out.logits, samplers);
  for (size_t r = 0; r < sampling.size(); ++r) {
    Sequence& s = *sampling[r];
    s.row = static_cast<int64_t>(r);
    ++s.drawn;
    // The token just drawn would be fed at position cache.length.
    const bool at_limit = model_.max_positions > 0 && s.cache.length >= model_.max_positions;
    s.may_continue = s.drawn < s.spec.max_new_tokens && !at_limit;
    out.rows.push_back(&s);
    out.may_continue.push_back(s.may_continue);
  }
  if (std::none_of(sampling.begin(), sampling.end(), [](const Sequence* s) { return s->spec.keep_logits; }))
    out.logits = Tensor();
  return out;
}

void Scheduler::read_tokens(InFlight& step) {
  // Sequences retired before now may be named by `step` (fed before the host knew they had ended);
  // none is named by a later step.
  std::vector<std::unique_ptr<Sequence>> expired = std::move(retired_);
  retired_.clear();
  const std::vector<int64_t> tokens = step.tokens.on_host();
  for (size_t r = 0; r < step.rows.size(); ++r) {
    Sequence& s = *step.rows[r];
    if (s.ended) continue;  // ended at an earlier token, or cancelled: this one is not its
    Generation& g = s.out;
    if (s.spec.keep_logits) {  // on the CPU a view of the row, no copy
      const Tensor row = step.logits.slice(static_cast<int64_t>(r), 1).to(Device::cpu());
      g.logits.emplace_back(row.f32(), row.f32() + model_.vocab);
    }
    const int64_t token = tokens[r];
    const std::vector<int64_t>& eos = s.spec.eos_ids;
    if (std::find(eos.begin(), eos.end(), token) != eos.end()) {
      g.finish = FinishReason::eos;
    } else {
      g.tokens.push_back(token);
      if (s.events.on_token && s.events.on_token(token)) {
        g.finish = FinishReason::stop;
      } else {
        if (step.may_continue[r]) continue;
        g.finish = FinishReason::length;
      }
    }
    s.ended = true;  // leaves the batch below
    if (s.events.on_finish) s.events.on_finish(std::move(g));
  }
  retire_if([](const std::unique_ptr<Sequence>& s) { return s->ended; });
}

}  // namespace s0
