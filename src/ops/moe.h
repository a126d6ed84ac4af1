#pragma once
// The pieces of a sparse mixture-of-experts block that are not linear layers, forward and backward
// side by side: the routers (softmax over experts, top-k, optional renormalisation; or sigmoid
// scores with a correction bias and grouped top-k, as DeepSeek-V3 and Nemotron-H), the weighted
// sum of the experts' outputs back into the token rows, and the shared expert's sigmoid gate. The
// experts themselves are SwiGLU MLPs over the gathered rows routed to them (model/layers/moe_layer).
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// How a router turns its logits into scores; the backward follows it.
enum class RouterScore { Softmax, Sigmoid };

struct Routing {
  RouterScore score = RouterScore::Softmax;
  int64_t top_k = 0;
  bool normalize = false;
  double scale = 1.0;  // multiplies the weights (the sigmoid router's routed_scaling_factor)
  Tensor probs;    // [N, E] softmax of the router logits, or their sigmoids
  Tensor weights;  // [N, top_k] the chosen experts' weights
  // N * top_k expert ids on the host, per row by decreasing probability (the sigmoid router: by
  // decreasing corrected score); equal ones go to the lower index first (torch.topk's order).
  std::vector<int64_t> experts;
};

// The sigmoid router's choice (transformers' NemotronHMoE.route_tokens_to_experts): experts in
// n_group equal groups, each group scored by the sum of its two best corrected scores
// (sigmoid(logit) + bias), the topk_group best groups kept, top_k experts chosen among them by
// corrected score. The weights are the uncorrected sigmoids, divided by their sum (+ 1e-20) when
// normalising, times `scale`.
constexpr int64_t kMaxRouterGroups = 64;  // the GPU kernel keeps the kept groups in one 64-bit mask
struct GroupedTopK {
  int64_t n_group = 1, topk_group = 1;
  double scale = 1.0;
};

// The top_k experts of each row of logits[N, E] and their weights: the softmax probabilities,
// divided by their sum over the chosen experts when `normalize` (norm_topk_prob).
Routing route_top_k(const Tensor& logits, int64_t top_k, bool normalize);
// The sigmoid router over logits[N, E] with the correction bias[E] (no gradient: it only chooses).
Routing route_sigmoid_grouped(const Tensor& logits, const Tensor& bias, int64_t top_k, bool normalize,
                              const GroupedTopK& groups);
// d_logits[N, E] (overwritten) from d_weights[N, top_k], for either router (r.score says which);
// the choice itself is piecewise constant.
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
