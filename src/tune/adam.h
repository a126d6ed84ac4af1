#pragma once
// The reference optimizer of the s0-tuning library: total-norm gradient clipping as
// torch.nn.utils.clip_grad_norm_ (scale = min(1, clip / (norm + 1e-6))), then torch.optim.Adam
// with bias correction, p -= lr * m_hat / (sqrt(v_hat) + eps).
#include <vector>

#include "core/tensor.h"

namespace s0 {

// Adam's step count and moments (per parameter tensor, per element): with the parameters, all a
// resumed run needs to continue exactly where it stopped.
struct AdamState {
  int t = 0;
  std::vector<std::vector<double>> m, v;
};

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double grad_clip = 1.0;  // <= 0 disables clipping
};

class Adam {
 public:
  // Fresh moments, or `resume`'s (which must match the parameters' sizes).
  Adam(const AdamConfig& cfg, const std::vector<Tensor>& params, const AdamState* resume = nullptr);
  // Clips `grads` in place (as the library does before stepping) and updates `params`.
  // Returns the total gradient norm before clipping.
  double step(std::vector<Tensor>& params, std::vector<Tensor>& grads);
  int steps_taken() const { return s_.t; }
  // The live state (no copy: the moments are as large as the trained states, twice over, in double).
  const AdamState& state() const { return s_; }

 private:
  AdamConfig cfg_;
  AdamState s_;
};

}  // namespace s0
