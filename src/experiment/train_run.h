#pragma once
// The whole of `s0 train` as one call, so that `s0 experiment` trains with the very same code
// (checks of the output folder, its lock, resume, the per-step adapter and optimizer files, the log).
#include <string>

#include "tune/trainer.h"

namespace s0 {

class Tokenizer;

struct TrainRequest {
  std::string model, data, out, layers = "all", device, dtype;
  TrainConfig cfg;
  uint64_t seed = 0;
  int64_t batch_tokens = 0;  // 0: by device (train_run.cpp)
  bool recompute = false, force = false, resume = false, quiet = false;  // quiet: no progress bar
  std::string log_jsonl;  // empty: no log
  // The model already on its device (`s0 experiment`'s, shared by its stages; weights are frozen,
  // so training leaves it as it was); null: `model` is loaded on `device` in `dtype`.
  const HybridModel* loaded = nullptr;
  // The model's tokenizer already in memory (the experiment's session), for text examples; null: read
  // from the model folder if an example is text.
  const Tokenizer* tokenizer = nullptr;
};

// Trains and writes the adapter to request.out after every step; fails with one line on bad input
// or a non-finite loss. Returns the steps this call took (a resumed run: only the remaining ones).
TrainResult run_training(const TrainRequest& request);

}  // namespace s0
