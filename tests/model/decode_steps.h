#pragma once
// A decode run for the tests that compare two ways of decoding (CUDA graphs or not, bf16 states or
// float32, attention caches reserved or doubling): five sequences over 18 steps, four prefill,
// decode together, two leave, the fifth joins (a step of prefill beside decodes), then four decode
// on. The tokens fed are fixed, so every run feeds the same; each step's logits (the last row of
// each sequence) are kept.
#include <deque>
#include <random>
#include <vector>

#include "model/decode_graphs.h"
#include "model/forward.h"
#include "ops/bf16_cast.h"

namespace s0::test {

inline StateSet random_states(const HybridModel& model, AdapterVariant variant, float scale, uint32_t seed) {
  StateSet set;
  set.variant = variant;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, scale);
  for (const RecurrentLayer& r : model.recurrent) {
    Tensor t = Tensor::zeros(r.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = noise(rng);
    set.states.push_back(t.to(model.device()));
  }
  return set;
}

struct DecodeRun {
  bool graphs = false;                  // replay CUDA graphs of the recurrent blocks (a GPU's)
  CacheDtypes cache_dtypes;             // the caches' recurrent states, keys and values
  bool round_states_each_step = false;  // float32 caches whose states are rounded to bf16 after
                                        // every step: what bf16 states are said to do
  int64_t reserve_keys = 0;             // SequenceCache::reserve_keys of every cache (0: none)
};

inline constexpr CacheDtypes kBf16States{DType::BF16, DType::F32};
inline constexpr CacheDtypes kBf16Caches{DType::BF16, DType::BF16};

struct Decoded {
  std::vector<std::vector<float>> logits;  // per step, the batch's rows
  std::vector<int64_t> recordings;         // after each phase
  std::vector<DType> state_dtypes;         // the dtype of every state the caches held at the end
  std::vector<DType> kv_dtypes;            // and of every attention cache's keys and values
  int64_t kv_growths = 0;  // times an attention cache's keys moved to a new, larger buffer
};

// Where the attention caches of sequences `seqs` keep their keys (null: none yet), in a fixed order.
inline std::vector<const void*> keys_of(const std::deque<SequenceCache>& caches, const std::vector<size_t>& seqs) {
  std::vector<const void*> at;
  for (size_t s : seqs)
    for (const std::vector<MixerCache>& block : caches[s].blocks)
      for (const MixerCache& m : block) at.push_back(m.kv.k.empty() ? nullptr : m.kv.k.device_raw());
  return at;
}

inline Decoded decode(const HybridModel& model, const std::vector<const StateSet*>& adapters, const DecodeRun& run) {
  std::vector<size_t> mixers;
  for (const Block& b : model.blocks) mixers.push_back(b.mixers.size());
  std::deque<SequenceCache> caches;
  for (size_t i = 0; i < adapters.size(); ++i) {
    caches.emplace_back(mixers, run.cache_dtypes);
    if (run.reserve_keys > 0) caches.back().reserve_keys(run.reserve_keys);
  }
  DecodeGraphs decode_graphs;
  Decoded out;
  auto token = [&](size_t seq, int64_t at) { return (static_cast<int64_t>(seq) * 37 + at * 11 + 5) % model.vocab; };
  auto step = [&](const std::vector<size_t>& active) {
    std::vector<std::vector<int64_t>> inputs;
    std::vector<const StateSet*> initial;
    std::vector<SequenceCache*> cache_ptrs;
    for (size_t s : active) {
      SequenceCache& c = caches[s];
      const int64_t n = c.length == 0 ? 3 + static_cast<int64_t>(s) : 1;  // a prompt, then one token a step
      std::vector<int64_t> in;
      for (int64_t t = 0; t < n; ++t) in.push_back(token(s, c.length + t));
      inputs.push_back(in);
      initial.push_back(adapters[s]);
      cache_ptrs.push_back(&c);
    }
    const PackedBatch batch = PackedBatch::from_sequences(inputs, initial, cache_ptrs);
    ForwardOptions fo;
    if (run.graphs) fo.graphs = &decode_graphs;
    for (int64_t s = 0; s < batch.n_seqs(); ++s) fo.logit_rows.push_back(batch.begin(s) + batch.length(s) - 1);
    const std::vector<const void*> keys_before = keys_of(caches, active);
    const Tensor logits = forward(model, batch, fo).logits.to(Device::cpu());
    const std::vector<const void*> keys_after = keys_of(caches, active);
    for (size_t i = 0; i < keys_before.size(); ++i) out.kv_growths += keys_before[i] && keys_before[i] != keys_after[i];
    for (size_t i = 0; i < active.size(); ++i) caches[active[i]].length += static_cast<int64_t>(inputs[i].size());
    if (run.round_states_each_step)
      for (size_t s : active)
        for (std::vector<MixerCache>& block : caches[s].blocks)
          for (MixerCache& m : block)
            if (!m.state.empty()) m.state = ops::widened_from_bf16(ops::rounded_to_bf16(m.state));
    out.logits.emplace_back(logits.f32(), logits.f32() + logits.numel());
  };
  for (int k = 0; k < 7; ++k) step({0, 1, 2, 3});
  out.recordings.push_back(decode_graphs.recordings());
  for (int k = 0; k < 4; ++k) step({0, 2});
  out.recordings.push_back(decode_graphs.recordings());
  for (int k = 0; k < 7; ++k) step({0, 2, 3, 4});
  out.recordings.push_back(decode_graphs.recordings());
  for (const SequenceCache& c : caches)
    for (const std::vector<MixerCache>& block : c.blocks)
      for (const MixerCache& m : block) {
        if (!m.state.empty()) out.state_dtypes.push_back(m.state.dtype());
        if (!m.kv.k.empty()) out.kv_dtypes.insert(out.kv_dtypes.end(), {m.kv.k.dtype(), m.kv.v.dtype()});
      }
  return out;
}

}  // namespace s0::test
