#pragma once
// S0 training with the s0-tuning library's semantics: states start at zero, every step uses every
// example (objective = mean of per-example mean token loss + L2), total-norm clipping, Adam.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/model.h"
#include "tune/adam.h"
#include "tune/objective.h"

namespace s0 {

// The fields of an adapter's config.json, with the library's defaults.
struct TrainConfig {
  int n_steps = 20;
  double lr = 1e-3;
  double l2_lambda = 5e-4;
  std::optional<double> alpha;  // null = the family default at activation
  bool normalize = false;       // scale each state to unit norm before alpha at activation
  double grad_clip = 1.0;
  int64_t max_length = 2048;
  // What the trained tensors are: initial states (S0), or per-step state offsets (the paper's
  // comparison; ops/state_offset.h). Both start at zero and share the objective, L2 and optimizer.
  AdapterVariant variant = AdapterVariant::s0;
};

// Where a run stopped: the raw states (model.recurrent order; untrained layers empty or zero) and
// the optimizer after its last step. A resumed run takes steps adam.t + 1 to n_steps and ends with
// the same bits as a run that never stopped.
struct TrainResume {
  StateSet states;
  AdamState adam;
};

struct TrainOptions {
  std::vector<int> layers;  // recurrent layers to train (block indices); empty = all
  int64_t max_batch_tokens = 16384;
  bool recompute = false;
  const TrainResume* resume = nullptr;  // continue this run instead of starting from zeros
  // Called before each update changes the states and optimizer moments that the last step
  // callback saw, and before train_states returns (they are its locals): a callback that keeps
  // reading them after it returns, as a background write of the step's files does, waits here
  // rather than copying them (at the 4B shape, 250 MB a step).
  std::function<void()> before_states_change;
};

struct StepReport {
  int step = 0;             // 1-based
  double mean_loss = 0;     // before this step's update
  double objective = 0;
  double grad_norm = 0;     // before clipping
  double mean_state_norm = 0;  // after the update, mean over trained layers of ||S0||
  std::vector<double> state_norms;  // after the update, ||S0|| per trained layer (TrainResult::layers order)
  double seconds = 0;
};

struct TrainResult {
  StateSet states;          // raw trained states (model.recurrent order; untrained layers empty)
  std::vector<int> layers;  // trained layers
  std::vector<StepReport> steps;
  bool stopped_non_finite = false;
  std::string stop_reason;
};

// One optimizer step of `params` from `grads` (the trained layers' gradient of a step whose objective
// is `objective`), as train_states takes it: the objective and gradient must be finite, and an
// update that makes a state non-finite is undone. Fills rep's gradient and state norms; returns why
// it did not update, or nothing.
std::optional<std::string> update_states(Adam& adam, std::vector<Tensor>& params, std::vector<Tensor>& grads,
                                         double objective, StepReport& rep);

// `on_step` sees each step's report, the states after it and the optimizer's state; returning
// normally continues. A non-finite loss or gradient stops training before the update: the result
// then holds the last finite states and stopped_non_finite is set.
using StepCallback = std::function<void(const StepReport&, const StateSet&, const AdamState&)>;
TrainResult train_states(const HybridModel& model, const std::vector<Example>& examples, const TrainConfig& cfg,
                         const TrainOptions& opt, const StepCallback& on_step = {});

// Parses "all", "early", "middle", "late" (thirds of the recurrent layers) or a comma list of layers and ranges ("0-7,12") against the model's recurrent
// layers; an error names a layer that is not recurrent.
std::vector<int> parse_layer_selection(const std::string& spec, const HybridModel& model);

}  // namespace s0
