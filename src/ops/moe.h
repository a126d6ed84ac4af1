#pragma once
// The pieces of a sparse mixture-of-experts block that are not linear layers, forward and backward
// side by side: the router (softmax over experts, top-k, optional renormalisation), the weighted
// sum of the experts' outputs back into the token rows, and the shared expert's sigmoid gate. The
// experts themselves are SwiGLU MLPs over the gathered rows routed to them (model/layers/moe_layer).
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

struct Routing {
  int64_t top_k = 0;
  bool normalize = false;
  Tensor probs;    // [N, E] softmax of the router logits
  Tensor weights;  // [N, top_k] the chosen experts' weights
  // N * top_k expert ids on the host, per row by decreasing probability; equal probabilities go to
  // the lower index first (torch.topk's order).
  std::vector<int64_t> experts;
};

// The top_k experts of each row of logits[N, E] and their weights: the softmax probabilities,
// divided by their sum over the chosen experts when `normalize` (norm_topk_prob).
Routing route_top_k(const Tensor& logits, int64_t top_k, bool normalize);
// d_logits[N, E] (overwritten) from d_weights[N, top_k]; the choice itself is piecewise constant.
void route_top_k_backward(const Routing& r, const Tensor& d_weights, Tensor& d_logits);

// out[rows[i]] += weights[slots[i]] * y[i] for y[n, d], with weights read flat: one expert's
// output rows scaled by their routing weights, summed into the token rows. Each row appears at most
// once in `rows` (an expert is chosen once per token).
void weighted_rows_add(const Tensor& y, const std::vector<int64_t>& rows, const Tensor& weights,
                       const std::vector<int64_t>& slots, Tensor& out);
// dy[n, d] (overwritten) = weights[slots[i]] * d_out[rows[i]]; d_weights[slots[i]] =
// d_out[rows[i]] . y[i] (written, each slot belongs to one expert).
void weighted_rows_add_backward(const Tensor& y, const std::vector<int64_t>& rows, const Tensor& weights,
                                const std::vector<int64_t>& slots, const Tensor& d_out, Tensor& dy,
                                Tensor& d_weights);

// out[n, :] += sigmoid(gate[n]) * y[n, :] for y[N, d], gate[N, 1]: the shared expert's gate.
void sigmoid_row_gate(const Tensor& y, const Tensor& gate, Tensor& out);
// dy[N, d] (overwritten) and dgate[N, 1] (overwritten) from d_out[N, d].
void sigmoid_row_gate_backward(const Tensor& y, const Tensor& gate, const Tensor& d_out, Tensor& dy, Tensor& dgate);

}  // namespace s0::ops
