#include "model/layers/moe_layer.h"

#include "model/layers/mlp.h"
#include "ops/rows.h"

namespace s0 {

namespace {

// Each expert's rows in token order, with the sequence boundaries among them.
std::vector<ExpertRun> expert_runs(const ops::Routing& r, size_t n_experts, const ops::Varlen& seqs) {
  std::vector<ExpertRun> by_expert(n_experts);
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    for (ExpertRun& run : by_expert) run.groups.offsets.push_back(static_cast<int64_t>(run.rows.size()));
    for (int64_t t = seqs.begin(s); t < seqs.begin(s) + seqs.length(s); ++t)
      for (int64_t j = 0; j < r.top_k; ++j) {
        ExpertRun& run = by_expert[static_cast<size_t>(r.experts[static_cast<size_t>(t * r.top_k + j)])];
        run.rows.push_back(t);
        run.slots.push_back(t * r.top_k + j);
      }
  }
  std::vector<ExpertRun> runs;
  for (size_t e = 0; e < n_experts; ++e) {
    ExpertRun& run = by_expert[e];
    if (run.rows.empty()) continue;
    run.expert = e;
    // Sequences that sent no row to this expert leave empty groups; drop them.
    std::vector<int64_t> offsets{0};
    run.groups.offsets.push_back(static_cast<int64_t>(run.rows.size()));
    for (size_t g = 1; g < run.groups.offsets.size(); ++g)
      if (run.groups.offsets[g] > offsets.back()) offsets.push_back(run.groups.offsets[g]);
    run.groups.offsets = std::move(offsets);
    runs.push_back(std::move(run));
  }
  return runs;
}

MlpWeights weights_of(const SparseMoe& m, const Expert& e) {
  return {e.gate_up.data(), e.gate_up.size(), e.down, m.expert_act};
}

ops::Routing route(const SparseMoe& m, const Tensor& logits) {
  if (m.correction_bias.empty()) return ops::route_top_k(logits, m.top_k, m.normalize);
  return ops::route_sigmoid_grouped(logits, m.correction_bias, m.top_k, m.normalize, m.groups);
}

}  // namespace

void moe_forward(const SparseMoe& m, const ops::Varlen& seqs, const Tensor& h, Tensor& residual, MoeSaved& s) {
  const int64_t N = seqs.rows(), Hd = h.dim(1), E = static_cast<int64_t>(m.experts.size());
  const Device dev = h.device();
  Tensor logits = Tensor::zeros({N, E}, DType::F32, dev);
  ops::linear_forward(m.router, h, seqs, logits);
  s.routing = route(m, logits);
  s.runs = expert_runs(s.routing, m.experts.size(), seqs);
  for (ExpertRun& run : s.runs) {
    const Tensor x = ops::gather_rows(h, run.rows);
    run.y = Tensor::zeros({static_cast<int64_t>(run.rows.size()), Hd}, DType::F32, dev);
    mlp_forward(weights_of(m, m.experts[run.expert]), run.groups, x, run.y, /*add=*/false, run.gu);
    if (m.output_scale != 1.0f) ops::scale_(run.y, m.output_scale);
    ops::weighted_rows_add(run.y, run.rows, s.routing.weights, run.slots, residual);
  }
}

void moe_backward(const SparseMoe& m, const ops::Varlen& seqs, const MoeSaved& s, const Tensor& d_out, Tensor& dh) {
  const int64_t N = seqs.rows(), Hd = d_out.dim(1), E = static_cast<int64_t>(m.experts.size());
  const Device dev = d_out.device();
  Tensor d_weights = Tensor::zeros({N, m.top_k}, DType::F32, dev);
  for (const ExpertRun& run : s.runs) {
    const int64_t n = static_cast<int64_t>(run.rows.size());
    Tensor dy = Tensor::zeros({n, Hd}, DType::F32, dev);
    ops::weighted_rows_add_backward(run.y, run.rows, s.routing.weights, run.slots, d_out, dy, d_weights);
    if (m.output_scale != 1.0f) ops::scale_(dy, m.output_scale);
    Tensor dx = Tensor::zeros({n, Hd}, DType::F32, dev);
    mlp_backward(weights_of(m, m.experts[run.expert]), run.groups, run.gu, dy, dx, /*accumulate=*/false);
    ops::scatter_add_rows(dx, run.rows, 1.0f, dh);
  }
  Tensor d_logits = Tensor::zeros({N, E}, DType::F32, dev);
  ops::route_top_k_backward(s.routing, d_weights, d_logits);
  ops::linear_backward(m.router, d_logits, seqs, dh, /*accumulate=*/true);
}

}  // namespace s0
