// Chunked gated delta rule (WY / UT-transform form, as in flash-linear-attention), forward and
// backward. Within a chunk starting from state S, with gamma the cumulative log decay,
//   A = strictly_lower(diag(beta) K K^T ⊙ exp(gamma_i - gamma_j)),   Tinv = (I + A)^{-1},
//   U = Tinv diag(beta) V,   W = Tinv diag(beta exp(gamma)) K,
//   delta = U - W S   (the rows each token writes into the state),
//   O = diag(exp(gamma)) Q S + (Q K^T ⊙ exp(gamma_i - gamma_j), j <= i) delta,
//   S <- exp(gamma_last) S + (diag(exp(gamma_last - gamma)) K)^T delta.
// The decay factors come from ChunkDecay: never exp of a positive number, however negative g is.
#include <algorithm>
#include <vector>

#include "ops/cpu/chunk_decay.h"
#include "ops/cpu/flush_denormals.h"
#include "ops/cpu/gated_delta.h"
#include "ops/cpu/small_matmul.h"
#include "ops/cpu/thread_cache.h"

namespace s0::ops::cpu {

namespace {

// One head's chunk: per-thread buffers sized for `cap` tokens, and the intermediates that both the
// forward and the backward derive from the inputs alone (not from the state).
class GdnChunk {
 public:
  GdnChunk(const GatedDeltaDims& d, int64_t cap)
      : d_(d), cap_(cap), ldk_(d.H * d.dk), ldv_(d.H * d.dv), q_(cap * d.dk), k_(cap * d.dk),
        v_(cap * d.dv), rows_dv_(cap * d.dv), decay_(cap), qk_(cap * cap), kk_(cap * cap),
        a_(cap * cap), tinv_(cap * cap), t_beta_(cap * cap), t_beta_in_(cap * cap), u_(cap * d.dv),
        w_(cap * d.dk), q_in_(cap * d.dk), k_out_(cap * d.dk), delta_(cap * d.dv), d_delta_(cap * d.dv),
        d_bv_(cap * d.dv), dq_in_(cap * d.dk), dk_out_(cap * d.dk), dw_(cap * d.dk), d_bk_(cap * d.dk),
        dp_(cap * cap), da_(cap * cap), dgamma_(cap), dout_(cap), spans_(cap), drow_(cap) {}

  // Loads tokens [t0, t0 + n) of head h and computes everything that does not depend on the state;
  // with_outputs also what only the outputs (and the backward) need, which a state sweep does not.
  void prepare(int64_t h, int64_t t0, int64_t n, const float* q, const float* k, const float* v, const float* g,
               const float* beta, bool with_outputs);

  // Advances S over the chunk, writing the chunk's outputs into o (rows of [T, H, dv]) unless null
  // (outputs need the chunk prepared with_outputs).
  void forward(float* S, float* o);

  // The chunk's backward (prepared with outputs). S is its starting state; dS holds dLoss/d(end
  // state) on entry and dLoss/d(start state) on exit. d_o, dq, dk, dv point at the chunk's first row
  // of [T, H, *], dg and dbeta at its first [T, H] entry; those outputs are overwritten.
  void backward(const float* S, float* dS, const float* d_o, float* dq, float* dk, float* dv, float* dg,
                float* dbeta);

 private:
  // delta = U - W S: the rows the chunk writes into the state S it starts from.
  void compute_delta(const float* S);

  const GatedDeltaDims d_;
  const int64_t cap_, ldk_, ldv_;
  int64_t n_ = 0;
  const float* betac_ = nullptr;
  // The chunk's rows of q, k, v for this head, gathered contiguous: in [T, H, d] consecutive rows of
  // one head lie H * d floats apart, a power-of-two stride that maps them onto the same cache sets.
  std::vector<float> q_, k_, v_;  // [cap, dk], [cap, dk], [cap, dv]
  std::vector<float> rows_dv_;    // [cap, dv] the outputs, or d_o, before scattering / after gathering
  ChunkDecay decay_;
  // Square [cap, cap] matrices.
  std::vector<float> qk_;         // (Q K^T) ⊙ mask
  std::vector<float> kk_;         // (K K^T) ⊙ mask, strictly lower
  std::vector<float> a_;          // diag(beta) kk
  std::vector<float> tinv_;       // (I + A)^{-1}, unit lower triangular
  std::vector<float> t_beta_;     // Tinv diag(beta)
  std::vector<float> t_beta_in_;  // Tinv diag(beta exp(gamma))
  // Rows of the chunk.
  std::vector<float> u_, w_;           // [cap, dv] Tinv diag(beta) V, [cap, dk] Tinv diag(beta exp(gamma)) K
  std::vector<float> q_in_, k_out_;    // [cap, dk] diag(exp(gamma)) Q, diag(exp(gamma_last - gamma)) K
  std::vector<float> delta_;           // [cap, dv]
  // Backward only.
  std::vector<float> d_delta_, d_bv_;               // [cap, dv]
  std::vector<float> dq_in_, dk_out_, dw_, d_bk_;   // [cap, dk]
  std::vector<float> dp_, da_;                      // [cap, cap]
  // [cap] the gradients of the decay factors (ops/log_decay_grad.h): through exp(gamma_i),
  // through exp(gamma_last - gamma_i), through the mask terms spanning each token; one mask row.
  std::vector<float> dgamma_, dout_, spans_, drow_;
};

void GdnChunk::prepare(int64_t h, int64_t t0, int64_t n, const float* q, const float* k, const float* v,
                       const float* g, const float* beta, bool with_outputs) {
  const int64_t H = d_.H, dk = d_.dk, dv = d_.dv, C = cap_;
  n_ = n;
  if (with_outputs) small::gather_rows(n, dk, q + (t0 * H + h) * dk, ldk_, q_.data());
  small::gather_rows(n, dk, k + (t0 * H + h) * dk, ldk_, k_.data());
  small::gather_rows(n, dv, v + (t0 * H + h) * dv, ldv_, v_.data());
  const float* qc = q_.data();
  const float* kc = k_.data();
  const float* vc = v_.data();
  betac_ = beta + t0 * H + h;
  decay_.compute(n, [&](int64_t i) { return g[(t0 + i) * H + h]; });
  const float* mask = decay_.mask.data();
  small::zero_rows(n, n, kk_.data(), C);
  small::gemm_nt(n, n, dk, 1.0f, kc, dk, kc, dk, kk_.data(), C, true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      kk_[i * C + j] = j < i ? kk_[i * C + j] * mask[i * C + j] : 0.0f;
      a_[i * C + j] = betac_[i * H] * kk_[i * C + j];
    }
  if (with_outputs) {
    small::zero_rows(n, n, qk_.data(), C);
    small::gemm_nt(n, n, dk, 1.0f, qc, dk, kc, dk, qk_.data(), C, true);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) qk_[i * C + j] *= mask[i * C + j];
  }
  // Tinv by forward substitution on the identity: row i = e_i - sum_{j<i} A_ij row j.
  small::zero_rows(n, n, tinv_.data(), C);
  for (int64_t i = 0; i < n; ++i) {
    float* __restrict ti = tinv_.data() + i * C;
    ti[i] = 1.0f;
    for (int64_t j = 0; j < i; ++j) {
      const float aij = a_[i * C + j];
      const float* __restrict tj = tinv_.data() + j * C;
      for (int64_t e = 0; e <= j; ++e) ti[e] -= aij * tj[e];
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      t_beta_[i * C + j] = tinv_[i * C + j] * betac_[j * H];
      t_beta_in_[i * C + j] = t_beta_[i * C + j] * decay_.in[j];
    }
  small::zero_rows(n, dv, u_.data(), dv);
  small::zero_rows(n, dk, w_.data(), dk);
  small::gemm_nn(n, dv, n, 1.0f, t_beta_.data(), C, vc, dv, u_.data(), dv, true);
  small::gemm_nn(n, dk, n, 1.0f, t_beta_in_.data(), C, kc, dk, w_.data(), dk, true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = 0; e < dk; ++e) k_out_[i * dk + e] = decay_.out[i] * kc[i * dk + e];
  if (with_outputs)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = 0; e < dk; ++e) q_in_[i * dk + e] = decay_.in[i] * qc[i * dk + e];
}

void GdnChunk::compute_delta(const float* S) {
  std::copy_n(u_.data(), n_ * d_.dv, delta_.data());
  small::gemm_nn(n_, d_.dv, d_.dk, -1.0f, w_.data(), d_.dk, S, d_.dv, delta_.data(), d_.dv);
}

void GdnChunk::forward(float* S, float* o) {
  const int64_t dk = d_.dk, dv = d_.dv;
  compute_delta(S);
  if (o) {
    float* rows = rows_dv_.data();
    small::zero_rows(n_, dv, rows, dv);
    small::gemm_nn(n_, dv, dk, 1.0f, q_in_.data(), dk, S, dv, rows, dv);
    small::gemm_nn(n_, dv, n_, 1.0f, qk_.data(), cap_, delta_.data(), dv, rows, dv, true);
    small::scatter_rows(n_, dv, rows, o, ldv_);
  }
  for (int64_t e = 0; e < dk * dv; ++e) S[e] *= decay_.all;
  small::gemm_tn(dk, dv, n_, 1.0f, k_out_.data(), dk, delta_.data(), dv, S, dv);
}

void GdnChunk::backward(const float* S, float* dS, const float* d_o_rows, float* dq_rows, float* dk_rows,
                        float* dv_rows, float* dg, float* dbeta) {
  const int64_t H = d_.H, Dk = d_.dk, Dv = d_.dv, C = cap_, n = n_;
  // The delta rows the forward wrote from S: one product, recomputed rather than kept.
  compute_delta(S);
  const float* delta = delta_.data();
  const float* qc = q_.data();
  const float* kc = k_.data();
  const float* vc = v_.data();
  float* d_o = rows_dv_.data();
  small::gather_rows(n, Dv, d_o_rows, ldv_, d_o);
  float* d_delta = d_delta_.data();
  float* dp = dp_.data();
  float* dq_in = dq_in_.data();
  float* dk_out = dk_out_.data();
  float* dw = dw_.data();
  float* da = da_.data();
  float* dgamma = dgamma_.data();
  float* dout = dout_.data();
  float* spans = spans_.data();
  small::zero_rows(n, Dv, d_delta, Dv);
  small::zero_rows(n, n, dp, C);
  small::zero_rows(n, Dk, dq_in, Dk);
  small::zero_rows(n, Dk, dk_out, Dk);
  small::zero_rows(n, Dk, dw, Dk);
  small::zero_rows(n, n, da, C);
  std::fill_n(dgamma, n, 0.0f);
  std::fill_n(dout, n, 0.0f);
  std::fill_n(spans, n, 0.0f);

  // O = Q_in S + qk delta and S_end = decay_all S + K_out^T delta.
  small::gemm_tn(n, Dv, n, 1.0f, qk_.data(), C, d_o, Dv, d_delta, Dv, true);
  small::gemm_nn(n, Dv, Dk, 1.0f, k_out_.data(), Dk, dS, Dv, d_delta, Dv);
  small::gemm_nt(n, n, Dv, 1.0f, d_o, Dv, delta, Dv, dp, C, true);
  small::gemm_nt(n, Dk, Dv, 1.0f, d_o, Dv, S, Dv, dq_in, Dk);
  small::gemm_nt(n, Dk, Dv, 1.0f, delta, Dv, dS, Dv, dk_out, Dk);
  const float d_all = decay_.all * small::dot(Dk * Dv, S, dS);
  for (int64_t e = 0; e < Dk * Dv; ++e) dS[e] *= decay_.all;
  small::gemm_tn(Dk, Dv, n, 1.0f, q_in_.data(), Dk, d_o, Dv, dS, Dv);

  // delta = U - W S.
  small::gemm_tn(Dk, Dv, n, -1.0f, w_.data(), Dk, d_delta, Dv, dS, Dv);
  small::gemm_nt(n, Dk, Dv, -1.0f, d_delta, Dv, S, Dv, dw, Dk);

  // U = Tinv diag(beta) V and W = Tinv diag(beta exp(gamma)) K: with X = Tinv Y, dY = Tinv^T dX and
  // dA = -dY X^T (A enters through Tinv = (I + A)^{-1}).
  float* d_bv = d_bv_.data();
  float* d_bk = d_bk_.data();
  small::zero_rows(n, Dv, d_bv, Dv);
  small::zero_rows(n, Dk, d_bk, Dk);
  small::gemm_tn(n, Dv, n, 1.0f, tinv_.data(), C, d_delta, Dv, d_bv, Dv, true);
  small::gemm_tn(n, Dk, n, 1.0f, tinv_.data(), C, dw, Dk, d_bk, Dk, true);
  small::gemm_nt(n, n, Dv, -1.0f, d_bv, Dv, u_.data(), Dv, da, C, true);
  small::gemm_nt(n, n, Dk, -1.0f, d_bk, Dk, w_.data(), Dk, da, C, true);

  // The token gradients are formed contiguous (reusing buffers done with) and scattered at the end.
  float* dv = d_bv;
  float* dq = dq_in;
  float* dk = dw;
  for (int64_t i = 0; i < n; ++i) {
    const float b = betac_[i * H];
    const float k_dbk = small::dot(Dk, kc + i * Dk, d_bk + i * Dk);
    float d_b = small::dot(Dv, vc + i * Dv, d_bv + i * Dv) + decay_.in[i] * k_dbk;
    for (int64_t j = 0; j < i; ++j) d_b += da[i * C + j] * kk_[i * C + j];
    dbeta[i * H] = d_b;
    dgamma[i] += b * decay_.in[i] * k_dbk + small::dot(Dk, q_in_.data() + i * Dk, dq_in + i * Dk);
    // decay_out_i = exp(gamma_last - gamma_i); the last token's is exp(0), with no gradient.
    if (i < n - 1) dout[i] = small::dot(Dk, k_out_.data() + i * Dk, dk_out + i * Dk);
    for (int64_t e = 0; e < Dv; ++e) dv[i * Dv + e] = b * d_bv[i * Dv + e];
    for (int64_t e = 0; e < Dk; ++e) {
      dq[i * Dk + e] = decay_.in[i] * dq_in[i * Dk + e];
      dk[i * Dk + e] = b * decay_.in[i] * d_bk[i * Dk + e] + decay_.out[i] * dk_out[i * Dk + e];
    }
  }

  // Through the decay mask exp(gamma_i - gamma_j), from qk and from A (diagonal terms cancel).
  float* drow = drow_.data();
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) drow[j] = dp[i * C + j] * qk_[i * C + j] + da[i * C + j] * a_[i * C + j];
    ChunkDecay::add_spans(i, drow, spans);
  }
  // qk = (Q K^T) ⊙ mask and A = diag(beta) (K K^T) ⊙ mask: dp, da become the products' gradients.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      dp[i * C + j] *= decay_.mask[i * C + j];
      da[i * C + j] = j < i ? da[i * C + j] * betac_[i * H] * decay_.mask[i * C + j] : 0.0f;
    }
  small::gemm_nn(n, Dk, n, 1.0f, dp, C, kc, Dk, dq, Dk, true);
  small::gemm_tn(n, Dk, n, 1.0f, dp, C, qc, Dk, dk, Dk, true);
  small::gemm_nn(n, Dk, n, 1.0f, da, C, kc, Dk, dk, Dk, true);
  small::gemm_tn(n, Dk, n, 1.0f, da, C, kc, Dk, dk, Dk, true);
  small::scatter_rows(n, Dk, dq, dq_rows, ldk_);
  small::scatter_rows(n, Dk, dk, dk_rows, ldk_);
  small::scatter_rows(n, Dv, dv, dv_rows, ldv_);

  // gamma is the inclusive cumulative sum of g.
  log_decay_grad(n, d_all, dgamma, dout, spans, dg, H);
}

int64_t checked_chunk(int64_t chunk) { return std::clamp<int64_t>(chunk, 1, ChunkDecay::kMaxChunk); }

// This thread's chunk buffers for these dimensions (T does not enter them).
GdnChunk& thread_chunk(const GatedDeltaDims& d, int64_t cap) {
  return thread_cached<GdnChunk>(std::make_tuple(d.H, d.dk, d.dv, cap), d, cap);
}

// The tag of the per-thread buffer of each chunk's starting state (thread_cache.h), for a backward
// whose forward kept none.
struct ChunkStarts;
// The tag of the per-thread state of a forward that returns no final state.
struct ForwardState;
// The tag of the per-thread state gradient of the backward (and its state sweep).
struct BackwardState;

}  // namespace

int64_t gated_delta_chunk_starts_floats(const GatedDeltaDims& d, int64_t chunk) {
  const int64_t C = checked_chunk(chunk);
  return d.H * ((d.T + C - 1) / C) * d.dk * d.dv;
}

void gated_delta_chunked(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                         const float* beta, const float* s0, float* o, float* s_final, int64_t chunk,
                         float* chunk_starts) {
  const int64_t T = d.T, H = d.H, state = d.dk * d.dv, C = checked_chunk(chunk);
  const int64_t chunks = (T + C - 1) / C;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    const FlushDenormals flush;
    GdnChunk& work = thread_chunk(d, C);
    // The state advances in place in s_final (a decode step's whole work on it is one token: a
    // separate buffer and a copy out would cost as much again), else in this thread's buffer.
    float* S = s_final ? s_final + h * state : thread_buffer<ForwardState>(state);
    if (s0) std::copy_n(s0 + h * state, state, S);
    else std::fill_n(S, state, 0.0f);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * C;
      if (chunk_starts) std::copy_n(S, state, chunk_starts + (h * chunks + c) * state);
      work.prepare(h, t0, std::min(C, T - t0), q, k, v, g, beta, true);
      work.forward(S, o + (t0 * H + h) * d.dv);
    }
  }
}

void gated_delta_chunked_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                  const float* g, const float* beta, const float* s0, const float* d_o,
                                  const float* d_s_final, float* dq, float* dk, float* dv, float* dg, float* dbeta,
                                  float* ds0, int64_t chunk, const float* chunk_starts) {
  const int64_t T = d.T, H = d.H, state = d.dk * d.dv, C = checked_chunk(chunk);
  const int64_t chunks = (T + C - 1) / C;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    const FlushDenormals flush;
    GdnChunk& work = thread_chunk(d, C);
    // starts[c] is the state entering chunk c: the forward's, or recomputed by a state sweep (the
    // same operations on the same inputs, so the same bits).
    const float* starts = chunk_starts ? chunk_starts + h * chunks * state : nullptr;
    float* dS = thread_buffer<BackwardState>(state);
    if (!starts) {
      float* swept = thread_buffer<ChunkStarts>(chunks * state);
      float* S = dS;  // the sweep's state, before dS needs the buffer
      if (s0) std::copy_n(s0 + h * state, state, S);
      else std::fill_n(S, state, 0.0f);
      for (int64_t c = 0; c < chunks; ++c) {
        std::copy_n(S, state, swept + c * state);
        work.prepare(h, c * C, std::min(C, T - c * C), q, k, v, g, beta, false);
        work.forward(S, nullptr);
      }
      starts = swept;
    }
    if (d_s_final) std::copy_n(d_s_final + h * state, state, dS);
    else std::fill_n(dS, state, 0.0f);
    for (int64_t c = chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * C;
      work.prepare(h, t0, std::min(C, T - t0), q, k, v, g, beta, true);
      work.backward(starts + c * state, dS, d_o + (t0 * H + h) * d.dv, dq + (t0 * H + h) * d.dk,
                    dk + (t0 * H + h) * d.dk, dv + (t0 * H + h) * d.dv, dg + t0 * H + h, dbeta + t0 * H + h);
    }
    if (ds0) std::copy_n(dS, state, ds0 + h * state);
  }
}

}  // namespace s0::ops::cpu
