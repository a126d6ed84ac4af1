#pragma once
// Continuous batching: the one decoding engine behind generate() and `s0 serve`. Sequences wait in
// a FIFO queue and join the running batch at a step boundary when a slot is free; each step is one
// forward over every running sequence, feeding a decoding sequence its last token and a
// prefilling one its next prompt chunk, so a long prompt never stalls the decodes around it; a
// sequence leaves the batch the step it ends (or is cancelled), freeing its slot for the next.
//
// A sequence's tokens do not depend on the others, bit for bit on the CPU: the ops treat every
// sequence of a packed batch as its own group, and a prompt is cut into chunks at fixed multiples
// of `prefill_chunk` from its start, whatever else runs. So what a sequence produces depends only
// on its prompt, adapter, sampling options, stream and the chunk size -- not on when it joined.
//
// Sequences of one prompt and adapter (n samples of a prompt) share its prefill: the first feeds the
// prompt, the others wait for it and take a copy of its cache (share_prefills below).
//
// On a GPU a step's tokens are read by the host one step late (SchedulerOptions::read_tokens_late):
// step() queues its forward, whose decodes take the tokens the step before drew where they are
// (without the host reading them first), then reads the step before's tokens while this one runs,
// so the device never waits for the host's turn between steps. The callbacks of a token drawn in
// one step() then run in the next. A sequence that ends at a token the host reads late (EOS, or a
// stop callback) has been fed that token in the step already queued, whose output for it is
// dropped; one that ends at its length (or position limit) is known to when its last token is
// drawn, and is fed nothing after it.
//
// Device-neutral: the forward dispatches on the model's device, and so does picking the tokens
// (next_tokens.h: on a GPU the logits stay there); nothing here is CPU-specific.
// Single-threaded: callbacks run inside step(); BatchEngine (batch_engine.h) drives one from a thread.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "model/batch.h"
#include "model/decode_graphs.h"
#include "model/model.h"

namespace s0 {

enum class FinishReason { eos, stop, length };
const char* finish_reason_name(FinishReason r);

struct Generation {
  std::vector<int64_t> tokens;  // new tokens, without the prompt and without the EOS
  FinishReason finish = FinishReason::length;
  std::vector<std::vector<float>> logits;  // per generated step when keep_logits (the EOS step included)
};

// What one sequence asks for.
struct SequenceSpec {
  std::vector<int64_t> prompt;
  const StateSet* initial = nullptr;  // an activated adapter (shared, not copied; must outlive the sequence)
  SamplingOptions sampling;
  uint64_t stream = 0;  // with sampling.seed, seeds this sequence's sampler
  int64_t max_new_tokens = 128;
  std::vector<int64_t> eos_ids;  // the sequence ends when it samples one (not included in its tokens)
  bool keep_logits = false;      // keep each step's logits row (tests, scoring)
};

struct SequenceEvents {
  // Every new token (not EOS), in order; returning true ends the sequence with FinishReason::stop.
  std::function<bool(int64_t token)> on_token;
  // Once, when the sequence ends (not when it is cancelled).
  std::function<void(Generation&&)> on_finish;
  // Once, instead of on_finish, when the sequence could not go on (abort_all): the reason.
  std::function<void(const std::string& reason)> on_abort;
};

struct SchedulerOptions {
  int64_t max_batch = 16;  // sequences running together
  // Prompt tokens a sequence feeds per step; where a long prompt is cut, hence part of its result.
  int64_t prefill_chunk = 512;
  // Prompt tokens all prefilling sequences feed in one step together (at least one chunk always
  // goes): bounds how long a step that carries running decodes can take.
  int64_t step_prompt_tokens = 2048;
  // Decode steps on a GPU replay their recurrent blocks from CUDA graphs (model/decode_graphs.h):
  // the same tokens either way, in less time. Off: every kernel queued by the host (comparisons).
  bool cuda_graphs = true;
  // The dtypes every sequence's caches are kept in between steps (model/cache.h).
  CacheDtypes cache_dtypes;
  // A sequence that can reach at most this many tokens (its prompt plus max_new_tokens, within the
  // model's positions) has its attention caches take room for all of them at once
  // (SequenceCache::reserve_keys) rather than doubling; a longer one doubles. Set it only to a
  // context at which memory holds the whole batch (generation_batch.h's batch_holds_context): else
  // caches reserved in full could outgrow what sequences that stop early would have held. 0: never
  // (a server's choice: its requests' lengths come with them).
  int64_t reserve_context = 0;
  // Whether the host reads a step's tokens during the next step (the default on a GPU: the GPU then
  // never waits for the host between steps) or at the end of the step that drew them (the default
  // on the CPU, whose forward runs on the host: reading late would only delay every callback by a
  // step and feed sequences that ended one more token).
  std::optional<bool> read_tokens_late;
};

// Fails (one line starting with `what`, e.g. "prompt 3") on an empty prompt, a token id outside the
// vocabulary, a prompt that reaches the model's position limit, max_new_tokens < 1 or bad sampling.
void validate_sequence(const HybridModel& model, const SequenceSpec& spec, const std::string& what);
// Fails on a non-positive max_batch, prefill_chunk or step_prompt_tokens.
void validate_scheduler_options(const SchedulerOptions& options);
// The tokens a sequence's attention caches reserve (SequenceCache::reserve_keys): the most it can
// reach (its prompt plus max_new_tokens, within the model's positions) when that is at most
// `reserve_context`, else 0 (its caches grow by doubling).
int64_t keys_to_reserve(const HybridModel& model, const SequenceSpec& spec, int64_t reserve_context);

class Scheduler {
 public:
  Scheduler(const HybridModel& model, const SchedulerOptions& options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Validates (see validate_sequence, named "request") and queues; returns the sequence's id.
  uint64_t add(SequenceSpec spec, SequenceEvents events);
  // Drops the sequence (queued or running) without calling on_finish; unknown ids are ignored.
  void cancel(uint64_t id);
  // One forward over the running batch, after admitting queued sequences into free slots; then the
  // tokens of the step before go to their sequences (callbacks). With nothing left to feed, only
  // those tokens.
  void step();
  // Ends every sequence with on_abort(reason): after a failed step, whose caches are no longer
  // trustworthy, or at shutdown.
  void abort_all(const std::string& reason);

  bool idle() const { return running_.empty() && waiting_.empty() && !in_flight_; }  // in_flight_: tokens unread
  size_t running() const { return running_.size(); }
  size_t waiting() const { return waiting_.size(); }

 private:
  struct Sequence;
  struct InFlight;
  // Fills free slots from the queue; a sequence that has drawn its last token holds none.
  void admit();
  // Moves the running sequences `done` picks to retired_, ended.
  void retire_if(const std::function<bool(const std::unique_ptr<Sequence>&)>& done);
  // Queues the forward of `fed` (inputs[i] for fed[i]; take: per token, its row in in_flight_'s
  // tokens or -1) and the draw of its next tokens.
  InFlight run_step(const std::vector<Sequence*>& fed, const std::vector<std::vector<int64_t>>& inputs,
                    const std::vector<int64_t>& take);
  // Hands a step's tokens to their sequences (ending those they end).
  void read_tokens(InFlight& step);
  // The last step, whose tokens this step's decodes take (read by the host or not); null before any.
  InFlight* drawn_last() const;
  // Pairs each running sequence that has fed nothing yet with an earlier one of the same prompt and
  // adapter that is still prefilling: the follower feeds nothing and, the step that prefill ends,
  // takes a copy of the leader's cache and samples its first token from the same logits (n samples
  // of one prompt cost one prefill). A prefill's result does not depend on the batch around it, so
  // the follower's tokens are those of its own prefill, bit for bit.
  void share_prefills();

  const HybridModel& model_;
  SchedulerOptions options_;
  std::vector<size_t> mixers_per_block_;
  uint64_t next_id_ = 0;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  // Ended since in_flight_ was queued, which may still name them (their caches already given back):
  // freed once it is read.
  std::vector<std::unique_ptr<Sequence>> retired_;
  std::unique_ptr<InFlight> in_flight_;  // the last step, its tokens not yet read by the host
  // Read at once: the last step, whose tokens the next step's decodes take (see read_tokens_late).
  std::unique_ptr<InFlight> last_read_;
  bool read_late_;
  DecodeGraphs graphs_;
};

}  // namespace s0
