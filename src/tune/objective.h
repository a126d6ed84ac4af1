#pragma once
// The S0-tuning objective over a set of examples, as the s0-tuning library defines it:
//   J = mean over examples of (mean completion-token cross-entropy) + l2_lambda * sum ||S0||^2
// and its gradient with respect to the shared initial states. Examples are packed into the fewest
// batches that fit the token budget (tune/batch_packing.h); each example's loss and state gradient
// are bit-identical to running it alone (see RowGroups), the gradients being summed batch by batch,
// and the per-token weights 1 / (examples * completion tokens) make one pass give exactly the mean
// of means.
#include <cstdint>
#include <vector>

#include "model/batch.h"
#include "model/model.h"

namespace s0 {

// A training example: token ids and how many of them are prompt (masked from the loss).
// Position t predicts token t + 1, for t = prompt_len - 1 .. length - 2.
struct Example {
  std::vector<int64_t> ids;
  int64_t prompt_len = 0;
};

struct ObjectiveOptions {
  double l2_lambda = 5e-4;
  int64_t max_batch_tokens = 16384;  // examples are packed into batches of at most this many tokens
  bool recompute = false;            // per-layer recomputation instead of a full tape
};

struct ObjectiveResult {
  double objective = 0;            // J
  double mean_loss = 0;            // mean over examples of the per-example mean token loss
  std::vector<double> example_loss;  // per example
  std::vector<Tensor> grad;        // dJ/dS0 per recurrent layer (model.recurrent order)
};

// J and dJ/dS0 at `states` (every example starts from them). Examples must each have at least one
// completion token.
ObjectiveResult objective_and_gradient(const HybridModel& model, const std::vector<Example>& examples,
                                       const StateSet& states, const ObjectiveOptions& options);

// The same J without the backward (for reporting).
ObjectiveResult objective_only(const HybridModel& model, const std::vector<Example>& examples,
                               const StateSet& states, const ObjectiveOptions& options);

}  // namespace s0
