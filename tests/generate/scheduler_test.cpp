// The continuous-batching scheduler: chunked prefill against whole-prompt prefill, and a
// sequence's result bit for bit independent of when it joined, what ran beside it, the step's
// prompt budget and cancellations of its neighbours; the threaded BatchEngine over it.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "check/reference_check.h"
#include "check/reference_fixture.h"
#include "generate/batch_engine.h"
#include "generate/generator.h"
#include "generate/scheduler.h"
#include "model/arch/registry.h"
#include "generate/loaded_fixture.h"
#include "support/test_support.h"

using namespace s0;

namespace {

using Loaded = test::LoadedFixture;

class SchedulerFixture : public ::testing::TestWithParam<std::string> {};

// Cutting a prompt into chunks changes only float rounding (the recurrences continue from the
// carried state, attention reads the cached keys): the same tolerances as cached decoding against
// a full recomputation (decode_test.cpp), and the same greedy tokens.
TEST_P(SchedulerFixture, ChunkedPrefillMatchesWholePrompt) {
  const Loaded L(GetParam());
  const double tolerance = GetParam().rfind("qwen35", 0) == 0 ? 5e-5 : 1e-5;
  const std::vector<int64_t> prompt = L.prompt(0, L.fx.prompt_lens[0]);
  ASSERT_GT(prompt.size(), 6u);
  GenerationOptions go;
  go.max_new_tokens = 6;
  go.keep_logits = true;
  for (const StateSet* initial : {static_cast<const StateSet*>(nullptr), &L.fx.s0}) {
    const Generation whole = generate(L.model, {{prompt, initial, 0}}, go)[0];
    for (int64_t chunk : {1, 3, 5}) {
      GenerationOptions chunked = go;
      chunked.prefill_chunk = chunk;
      const Generation g = generate(L.model, {{prompt, initial, 0}}, chunked)[0];
      EXPECT_EQ(g.tokens, whole.tokens) << "chunk " << chunk;
      ASSERT_EQ(g.logits.size(), whole.logits.size());
      for (size_t s = 0; s < g.logits.size(); ++s)
        EXPECT_LE(max_relative_error(g.logits[s].data(), whole.logits[s].data(), L.model.vocab), tolerance)
            << "chunk " << chunk << " step " << s;
    }
  }
}

struct Run {
  std::vector<Generation> out;
  std::vector<int> finishes;
};

SequenceSpec spec_of(const std::vector<int64_t>& prompt, const StateSet* initial, uint64_t stream) {
  SequenceSpec s;
  s.prompt = prompt;
  s.initial = initial;
  s.sampling.temperature = 0.8;
  s.sampling.seed = 5;
  s.stream = stream;
  s.max_new_tokens = 4 + static_cast<int64_t>(stream % 3) * 3;
  s.keep_logits = true;
  return s;
}

// Sequences join a running batch at different steps, with a small prompt budget so prefill
// chunks of several prompts interleave with decodes, and a neighbour is cancelled midway: every
// finished sequence equals the same sequence run alone, tokens and logits bit for bit, whether the
// host reads each step's tokens at once or during the next step.
TEST_P(SchedulerFixture, JoiningMidwayAndNeighboursAreInvisible) {
  const Loaded L(GetParam());
  const std::vector<std::vector<int64_t>> prompts = {L.prompt(0, L.fx.prompt_lens[0]), L.prompt(1, 7), L.prompt(1, 1),
                                                     L.prompt(0, 12), L.prompt(1, 9)};
  const std::vector<const StateSet*> adapters = {&L.fx.s0, nullptr, &L.fx.s0, nullptr, &L.fx.s0};
  SchedulerOptions so;
  so.max_batch = 3;
  so.prefill_chunk = 4;
  so.step_prompt_tokens = 5;

  std::vector<Generation> alone(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    Scheduler one(L.model, so);
    one.add(spec_of(prompts[i], adapters[i], i), {{}, [&, i](Generation&& g) { alone[i] = std::move(g); }, {}});
    while (!one.idle()) one.step();
  }

  for (const bool late : {false, true}) {
    so.read_tokens_late = late;
    Scheduler shared(L.model, so);
    std::vector<Generation> together(prompts.size());
    std::vector<int> finished(prompts.size(), 0);
    auto add = [&](size_t i) {
      return shared.add(spec_of(prompts[i], adapters[i], i), {{}, [&, i](Generation&& g) {
                                                                 together[i] = std::move(g);
                                                                 ++finished[i];
                                                               }, {}});
    };
    add(0);
    add(1);
    shared.step();
    const uint64_t doomed = shared.add(spec_of(prompts[3], nullptr, 99), {});
    add(2);
    shared.step();
    shared.step();
    shared.cancel(doomed);
    add(3);
    shared.step();
    add(4);
    for (int guard = 0; guard < 1000 && !shared.idle(); ++guard) shared.step();
    ASSERT_TRUE(shared.idle());
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(finished[i], 1) << "request " << i << (late ? ", read late" : "");
      EXPECT_EQ(together[i].tokens, alone[i].tokens) << "request " << i << (late ? ", read late" : "");
      EXPECT_EQ(together[i].logits, alone[i].logits) << "request " << i << (late ? ", read late" : "");
      EXPECT_EQ(together[i].finish, alone[i].finish) << "request " << i << (late ? ", read late" : "");
    }
  }
}

// Several samples of one prompt and adapter share one prefill (Scheduler::share_prefills): the
// first feeds the prompt and the others, fed nothing meanwhile, take a copy of its cache and its
// last row's logits. Every finished sequence equals the same sequence run alone, tokens and logits
// bit for bit: followers admitted with the leader, one that joins while the leader is halfway, one
// that joins after the leader's prefill (it prefills by itself), the same prompt without the
// adapter (not shared), and followers whose leader is cancelled halfway (they prefill by themselves).
TEST_P(SchedulerFixture, SamplesOfOnePromptShareItsPrefill) {
  const Loaded L(GetParam());
  const std::vector<int64_t> a = L.prompt(0, 12), b = L.prompt(1, 7);
  SchedulerOptions so;
  so.max_batch = 8;
  so.prefill_chunk = 4;
  so.step_prompt_tokens = 4;  // one chunk a step: a's prefill takes three steps
  struct Request {
    std::vector<int64_t> prompt;
    const StateSet* initial;
  };
  const std::vector<Request> requests = {{a, &L.fx.s0}, {a, &L.fx.s0}, {a, &L.fx.s0}, {a, nullptr}, {b, &L.fx.s0},
                                         {a, &L.fx.s0}, {a, &L.fx.s0}, {a, nullptr}, {a, nullptr}};
  std::vector<Generation> alone(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    Scheduler one(L.model, so);
    one.add(spec_of(requests[i].prompt, requests[i].initial, i),
            {{}, [&, i](Generation&& g) { alone[i] = std::move(g); }, {}});
    while (!one.idle()) one.step();
  }

  Scheduler shared(L.model, so);
  std::vector<Generation> together(requests.size());
  std::vector<int> first_token_step(requests.size(), -1), finished(requests.size(), 0);
  int steps = 0;
  auto add = [&](size_t i) {
    return shared.add(spec_of(requests[i].prompt, requests[i].initial, i),
                      {[&, i](int64_t) {
                         if (first_token_step[i] < 0) first_token_step[i] = steps;
                         return false;
                       },
                       [&, i](Generation&& g) {
                         together[i] = std::move(g);
                         ++finished[i];
                       },
                       {}});
  };
  auto step = [&] {
    ++steps;  // the callbacks during step k see k
    shared.step();
  };
  std::vector<uint64_t> ids(requests.size());
  for (size_t i = 0; i < 5; ++i) ids[i] = add(i);
  step();  // request 0 fed a's first chunk; 1 and 2 follow it
  ids[5] = add(5);  // joins halfway: follows request 0 too
  step();
  step();  // request 0's prefill ends: 0, 1, 2 and 5 have their first token together
  EXPECT_EQ(first_token_step[0], 3);
  EXPECT_EQ(first_token_step[1], 3);
  EXPECT_EQ(first_token_step[2], 3);
  EXPECT_EQ(first_token_step[5], 3);
  ids[6] = add(6);  // a's prefill is over: request 6 prefills by itself
  // Requests 7 and 8 (a, no adapter) follow request 3, which has waited behind the budget until
  // now (8 waits for a slot). Request 3 is cancelled after its first chunk: 7 then prefills by
  // itself and 8, admitted in 3's slot, follows 7.
  ids[7] = add(7);
  ids[8] = add(8);
  step();
  shared.cancel(ids[3]);
  for (int guard = 0; guard < 1000 && !shared.idle(); ++guard) step();
  ASSERT_TRUE(shared.idle());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(finished[i], 0) << "request 3 was cancelled";
      continue;
    }
    EXPECT_EQ(finished[i], 1) << "request " << i;
    EXPECT_EQ(together[i].tokens, alone[i].tokens) << "request " << i;
    EXPECT_EQ(together[i].logits, alone[i].logits) << "request " << i;
    EXPECT_EQ(together[i].finish, alone[i].finish) << "request " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SchedulerFixture, ::testing::ValuesIn(test::fixture_model_names()),
                         [](const auto& info) { return test::fixture_test_name(info.param); });

// A full batch makes later sequences wait; cancelling a running one frees its slot at the next step.
TEST(Scheduler, CancelFreesTheSlotAtTheNextStep) {
  const Loaded L("falcon-h1-plain");
  SchedulerOptions so;
  so.max_batch = 1;
  Scheduler s(L.model, so);
  SequenceSpec long_one = spec_of(L.prompt(0, 5), nullptr, 0);
  long_one.max_new_tokens = 1000;
  bool long_finished = false;
  const uint64_t id = s.add(long_one, {{}, [&](Generation&&) { long_finished = true; }, {}});
  s.add(spec_of(L.prompt(1, 5), nullptr, 1), {});
  s.step();
  s.step();
  EXPECT_EQ(s.running(), 1u);
  EXPECT_EQ(s.waiting(), 1u);
  s.cancel(id);
  EXPECT_EQ(s.running(), 0u);
  s.step();
  EXPECT_EQ(s.running(), 1u);
  EXPECT_EQ(s.waiting(), 0u);
  EXPECT_FALSE(long_finished);
}

// Where the host reads a step's tokens during the next step (a GPU's way), that step has already fed
// them: a sequence that ends at a token read late (its EOS, or its stop callback) gets nothing after
// it, its neighbours are as they are alone, and its slot goes to the next sequence. So it is where
// the tokens are read at once (the CPU's way).
class TokensRead : public ::testing::TestWithParam<bool> {};

TEST_P(TokensRead, EndsAtATokenLeaveNoTrace) {
  const Loaded L("qwen35-text");
  const std::vector<std::vector<int64_t>> prompts = {L.prompt(0, 6), L.prompt(1, 5), L.prompt(0, 3), L.prompt(1, 8)};
  auto spec = [&](size_t i) {
    SequenceSpec s = spec_of(prompts[i], nullptr, i);
    s.max_new_tokens = 8;
    return s;
  };
  std::vector<Generation> alone(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    Scheduler one(L.model, {});
    one.add(spec(i), {{}, [&, i](Generation&& g) { alone[i] = std::move(g); }, {}});
    while (!one.idle()) one.step();
    ASSERT_EQ(alone[i].tokens.size(), 8u);
  }
  SchedulerOptions so;
  so.max_batch = 3;
  so.read_tokens_late = GetParam();
  Scheduler shared(L.model, so);
  std::vector<Generation> together(prompts.size());
  std::vector<int> calls(prompts.size(), 0);
  // Sequence 0 ends at its third token, drawn as an EOS; 1 is stopped by its callback at its second.
  SequenceSpec eos_at_third = spec(0);
  eos_at_third.eos_ids = {alone[0].tokens[2]};
  for (size_t i = 0; i < prompts.size(); ++i)
    shared.add(i == 0 ? eos_at_third : spec(i), {[&, i](int64_t) { return ++calls[i] == 2 && i == 1; },
                                                 [&, i](Generation&& g) { together[i] = std::move(g); }, {}});
  for (int guard = 0; guard < 100 && !shared.idle(); ++guard) shared.step();
  ASSERT_TRUE(shared.idle());
  const auto first_eos = std::find(alone[0].tokens.begin(), alone[0].tokens.end(), alone[0].tokens[2]);
  EXPECT_EQ(together[0].tokens, std::vector<int64_t>(alone[0].tokens.begin(), first_eos));
  EXPECT_EQ(together[0].finish, FinishReason::eos);
  EXPECT_EQ(together[0].logits.size(), together[0].tokens.size() + 1) << "the EOS step's logits are kept";
  EXPECT_EQ(calls[0], static_cast<int>(together[0].tokens.size()));
  EXPECT_EQ(together[1].tokens, std::vector<int64_t>(alone[1].tokens.begin(), alone[1].tokens.begin() + 2));
  EXPECT_EQ(together[1].finish, FinishReason::stop);
  EXPECT_EQ(calls[1], 2) << "no token after the stop";
  for (const size_t i : {2, 3}) {
    EXPECT_EQ(together[i].tokens, alone[i].tokens) << "sequence " << i;
    EXPECT_EQ(together[i].logits, alone[i].logits) << "sequence " << i;
    EXPECT_EQ(calls[i], 8) << "sequence " << i;
  }
}

// A sequence that has drawn its last token (by max_new_tokens) holds no slot, whether or not the
// host has read it: the next sequence is admitted into the step after that draw.
TEST_P(TokensRead, ALastDrawnTokenHoldsNoSlot) {
  const Loaded L("falcon-h1-plain");
  SchedulerOptions so;
  so.max_batch = 1;
  so.read_tokens_late = GetParam();
  Scheduler s(L.model, so);
  for (size_t i = 0; i < 2; ++i) {
    SequenceSpec spec = spec_of(L.prompt(i, 5), nullptr, i);
    spec.max_new_tokens = 3;
    s.add(spec, {});
  }
  int steps = 0;
  for (; steps < 100 && !s.idle(); ++steps) {
    s.step();
    if (steps == 2) {
      EXPECT_EQ(s.waiting(), 1u) << "the first drew its third token in step 3";
    }
    if (steps == 3) {
      EXPECT_EQ(s.waiting(), 0u) << "and the second joined at step 4";
    }
  }
  // Draws in steps 1-3 and 4-6; read late, the last token is read in step 7, which feeds nothing.
  EXPECT_EQ(steps, GetParam() ? 7 : 6);
}

INSTANTIATE_TEST_SUITE_P(LateOrAtOnce, TokensRead, ::testing::Bool(),
                         [](const auto& info) { return std::string(info.param ? "Late" : "AtOnce"); });

// A sequence reserves its attention caches for its whole reach only within the context its batch was
// sized for, and never past the model's positions.
TEST(Scheduler, KeysAreReservedForTheReachWithinTheContext) {
  Loaded L("qwen35-text");
  HybridModel& model = L.model;
  SequenceSpec spec;
  spec.prompt = L.prompt(0, 5);
  spec.max_new_tokens = 100;
  model.max_positions = 0;
  EXPECT_EQ(keys_to_reserve(model, spec, 105), 105);
  EXPECT_EQ(keys_to_reserve(model, spec, 104), 0);
  EXPECT_EQ(keys_to_reserve(model, spec, 0), 0);
  model.max_positions = 50;
  EXPECT_EQ(keys_to_reserve(model, spec, 105), 50);
}

TEST(Scheduler, BadOptionsAndRequestsAreOneClearError) {
  const Loaded L("qwen35-text");
  SchedulerOptions so;
  so.prefill_chunk = 0;
  EXPECT_NE(test::error_of([&] { Scheduler s(L.model, so); }).find("prefill chunk"), std::string::npos);
  Scheduler s(L.model, {});
  EXPECT_NE(test::error_of([&] { s.add({}, {}); }).find("request is empty"), std::string::npos);
  EXPECT_TRUE(s.idle());
}

}  // namespace

namespace {

// The threaded engine: submissions beyond max_batch + max_queue are refused whole, a cancelled
// sequence never finishes, drain() returns once every admitted sequence has ended and then refuses
// new work; results equal generate()'s.
TEST(BatchEngine, BoundedQueueCancelAndDrain) {
  const s0::test::LoadedFixture L("falcon-h1-plain");
  SchedulerOptions so;
  so.max_batch = 2;
  BatchEngine engine(L.model, so, 1);
  std::mutex m;
  std::map<uint64_t, Generation> done;
  auto events = [&](uint64_t key) {
    SequenceEvents ev;
    ev.on_finish = [&, key](Generation&& g) {
      std::lock_guard<std::mutex> lock(m);
      done[key] = std::move(g);
    };
    return ev;
  };
  SequenceSpec endless = spec_of(L.prompt(0, 5), nullptr, 0);
  endless.max_new_tokens = 1 << 20;
  endless.eos_ids.clear();
  std::vector<uint64_t> tickets, more;
  ASSERT_EQ(engine.submit({endless, endless}, {events(0), events(1)}, tickets), BatchEngine::Admission::accepted);
  // Two running (or about to) and one place in the queue: a group of two does not fit.
  const SequenceSpec short_one = spec_of(L.prompt(1, 6), nullptr, 2);
  EXPECT_EQ(engine.submit({short_one, short_one}, {events(2), events(3)}, more), BatchEngine::Admission::full);
  ASSERT_EQ(engine.submit({short_one}, {events(2)}, more), BatchEngine::Admission::accepted);
  for (uint64_t t : tickets) engine.cancel(t);
  engine.drain();
  EXPECT_EQ(engine.submit({short_one}, {events(4)}, more), BatchEngine::Admission::closed);
  std::lock_guard<std::mutex> lock(m);
  ASSERT_EQ(done.size(), 1u);
  GenerationOptions go;
  go.max_new_tokens = short_one.max_new_tokens;
  go.sampling = short_one.sampling;
  go.keep_logits = true;
  const Generation want = generate(L.model, {{short_one.prompt, nullptr, short_one.stream}}, go)[0];
  EXPECT_EQ(done[2].tokens, want.tokens);
  EXPECT_EQ(done[2].logits, want.logits);
  EXPECT_EQ(engine.load().running + engine.load().waiting, 0u);
}

}  // namespace
