#include "model/decode_graphs.h"

#include "core/allocator.h"
#include "core/error.h"
#include "model/forward.h"

namespace s0 {

namespace {

// A half's work depends on nothing that changes between steps of one batch: no attention mixer
// (its keys grow), no routed experts (their routing decides the work).
bool replayable(const Block& blk, size_t half) {
  if (half % 2 == 1) return !blk.moe;
  for (const Mixer& m : blk.mixers)
    if (std::holds_alternative<AttentionMixer>(m)) return false;
  return true;
}

void half_forward(const HybridModel& model, const PackedBatch& batch, size_t half, Tensor& x) {
  const Block& blk = model.blocks[half / 2];
  BlockSaved saved;
  if (half % 2 == 0)
    block_mixers_forward(blk, model, batch, x, saved, KeepFor::nothing, nullptr);
  else
    block_ffn_forward(blk, model, batch, x, saved);
}

int64_t address_of(const Tensor* t) {
  return t && !t->empty() ? static_cast<int64_t>(reinterpret_cast<uintptr_t>(t->device_raw())) : 0;
}

// What halves [first, end)'s recorded work depends on: the model, the residual stream's shape and
// type, and per recurrent mixer and sequence where its start state, carried state, conv window and
// state offset lie (an empty one is 0: the host code then makes one, which a replay would not).
std::vector<int64_t> key_of(const HybridModel& model, const PackedBatch& batch, size_t first, size_t end,
                            const Tensor& x) {
  std::vector<int64_t> key{static_cast<int64_t>(reinterpret_cast<uintptr_t>(&model)),
                           static_cast<int64_t>(first),
                           static_cast<int64_t>(end),
                           x.dim(0),
                           x.dim(1),
                           static_cast<int64_t>(x.dtype()),
                           x.device().index};
  for (size_t half = first; half < end; ++half) {
    if (half % 2 == 1) continue;  // a feed-forward's work is the same for any sequence
    const size_t b = half / 2;
    const Block& blk = model.blocks[b];
    for (size_t mi = 0; mi < blk.mixers.size(); ++mi)
      for (const ops::SequenceStart& s : batch.recurrent_starts(blk.recurrent_slot, b, mi)) {
        const Tensor& from = ops::start_state(s);
        key.insert(key.end(), {address_of(&from), address_of(s.carried), address_of(s.window), address_of(&s.offset)});
      }
  }
  return key;
}

}  // namespace

bool DecodeGraphs::apply_to(const PackedBatch& batch, Device device) {
  if (batch.caches.empty() || batch.n_seqs() == 0 || !ops::RecordedWork::possible(device)) return false;
  for (int64_t s = 0; s < batch.n_seqs(); ++s)
    if (batch.length(s) != 1) return false;
  return true;
}

void DecodeGraphs::blocks_forward(const HybridModel& model, const PackedBatch& batch, Tensor& x) {
  const size_t halves = 2 * model.blocks.size();
  for (size_t h = 0; h < halves;) {
    if (!replayable(model.blocks[h / 2], h)) {
      half_forward(model, batch, h++, x);
      continue;
    }
    size_t end = h + 1;
    while (end < halves && replayable(model.blocks[end / 2], end)) ++end;
    run_recorded(model, batch, h, end, x);
    h = end;
  }
}

void DecodeGraphs::run_recorded(const HybridModel& model, const PackedBatch& batch, size_t first, size_t end,
                                Tensor& x) {
  auto halves_forward = [&](Tensor& on) {
    for (size_t h = first; h < end; ++h) half_forward(model, batch, h, on);
  };
  std::vector<int64_t> key = key_of(model, batch, first, end, x);
  Run& run = runs_[first];
  if (run.key != key) {  // a new batch: the old graph goes
    run = Run();
    run.key = std::move(key);
  }
  if (!run.work) {
    if (++run.seen < 2) return halves_forward(x);
    run.x = Tensor::empty(x.shape(), x.dtype(), x.device());
    const void* recorded_on = run.x.device_raw();
    run.work = std::make_unique<ops::RecordedWork>(x.device(), [&] { halves_forward(run.x); });
    if (run.x.device_raw() != recorded_on) fail("internal: a decode graph's blocks moved the residual stream");
    ++recordings_;
  }
  copy_bytes(run.x.device_raw_mut(), x.device(), x.device_raw(), x.device(), x.nbytes());
  run.work->replay();
  x = run.x;
}

}  // namespace s0
