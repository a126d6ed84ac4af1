#pragma once
// CUDA graphs of a decode step's recurrent blocks. With every sequence feeding one token, the work
// of a GatedDeltaNet or Mamba-2 mixer, and of a dense feed-forward, depends only on the batch's
// size and on where each sequence's carried state, conv window and adapter lie: it is the same from
// one step to the next while the batch stays. Each run of such block halves between two attention
// mixers (whose keys grow each step) or routed expert layers is recorded once and then replayed as
// one launch (ops/recorded_work.h), where its host code queued several hundred kernels one by one.
// The replay computes what the host code would, bit for bit: the same kernels on the same inputs.
//
// A run is recorded the second step in a row it sees the same batch (the first, run as usual, makes
// whatever the run makes once: conv windows, tables), and recorded again whenever the batch
// changes (a sequence joins or leaves). Between steps a run's graph is kept here with its own
// input buffer: the residual stream is copied in, the graph replayed, and the stream then continues
// in that buffer.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "model/batch.h"
#include "model/model.h"
#include "ops/recorded_work.h"

namespace s0 {

class DecodeGraphs {
 public:
  // Whether a forward over `batch` can use them: a decode step (caches, one token per sequence)
  // on a device whose work can be recorded.
  static bool apply_to(const PackedBatch& batch, Device device);

  // Every block of `model` over the residual stream x [N, hidden], as forward's blocks would run
  // them (block_mixers_forward, block_ffn_forward keeping nothing); x may end up in another buffer.
  void blocks_forward(const HybridModel& model, const PackedBatch& batch, Tensor& x);

  // Recordings made so far (tests, benchmarks).
  int64_t recordings() const { return recordings_; }

 private:
  struct Run {
    std::vector<int64_t> key;  // what the recorded work depends on (key_of)
    int seen = 0;              // steps in a row with this key
    Tensor x;                  // the residual stream the recorded work reads and updates in place
    std::unique_ptr<ops::RecordedWork> work;
  };

  // Block halves [first, end) (half h: block h / 2, its mixers when even, its feed-forward when
  // odd) from their graph, recording it when due.
  void run_recorded(const HybridModel& model, const PackedBatch& batch, size_t first, size_t end, Tensor& x);

  std::map<size_t, Run> runs_;  // by first half
  int64_t recordings_ = 0;
};

}  // namespace s0
