// Chunked gated delta rule (WY / UT-transform form, as in flash-linear-attention), forward and
// backward. Within a chunk starting from state S, with gamma the cumulative log decay,
//   A = strictly_lower(diag(beta) K K^T ⊙ exp(gamma_i - gamma_j)),
//   U = (I + A)^{-1} diag(beta) V,   W = (I + A)^{-1} diag(beta exp(gamma)) K,
//   delta = U - W S   (the rows each token writes into the state),
//   O = diag(exp(gamma)) Q S + (Q K^T ⊙ exp(gamma_i - gamma_j), j <= i) delta,
//   S <- exp(gamma_last) S + (diag(exp(gamma_last - gamma)) K)^T delta.
// The decay factors come from ChunkDecay: never exp of a positive number, however negative g is.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/chunk_decay.h"
#include "ops/cpu/gated_delta.h"
#include "ops/cpu/small_matmul.h"

namespace s0::ops {

namespace {

// x_i -= sum_{j<i} a_ij x_j for i = 0..n-1: solves (I + A) X = X0 in place, A strictly lower [n, n].
void solve_unit_lower(int64_t n, const float* a, int64_t lda, float* x, int64_t width) {
  for (int64_t i = 1; i < n; ++i) {
    float* __restrict xi = x + i * width;
    for (int64_t j = 0; j < i; ++j) {
      const float aij = a[i * lda + j];
      const float* __restrict xj = x + j * width;
      for (int64_t e = 0; e < width; ++e) xi[e] -= aij * xj[e];
    }
  }
}

// x_i -= sum_{j>i} a_ji x_j for i = n-1..0: solves (I + A)^T X = X0 in place.
void solve_unit_lower_transposed(int64_t n, const float* a, int64_t lda, float* x, int64_t width) {
  for (int64_t i = n - 2; i >= 0; --i) {
    float* __restrict xi = x + i * width;
    for (int64_t j = i + 1; j < n; ++j) {
      const float aji = a[j * lda + i];
      const float* __restrict xj = x + j * width;
      for (int64_t e = 0; e < width; ++e) xi[e] -= aji * xj[e];
    }
  }
}

// One head's chunk: per-thread buffers sized for `cap` tokens, and the intermediates that both the
// forward and the backward derive from the inputs alone (not from the state).
class GdnChunk {
 public:
  GdnChunk(const GatedDeltaDims& d, int64_t cap)
      : d_(d), cap_(cap), ldk_(d.H * d.dk), ldv_(d.H * d.dv), decay_(cap), qk_(cap * cap), kk_(cap * cap), a_(cap * cap), u_(cap * d.dv), w_(cap * d.dk),
        q_in_(cap * d.dk), k_out_(cap * d.dk), k_t_(d.dk * cap), delta_(cap * d.dv) {}

  // Loads tokens [t0, t0 + n) of head h and computes everything that does not depend on the state.
  void prepare(int64_t h, int64_t t0, int64_t n, const float* q, const float* k, const float* v, const float* g,
               const float* beta) {
    const int64_t H = d_.H, dk = d_.dk, dv = d_.dv, C = cap_;
    n_ = n;
    qc_ = q + (t0 * H + h) * dk;
    kc_ = k + (t0 * H + h) * dk;
    vc_ = v + (t0 * H + h) * dv;
    gc_ = g + t0 * H + h;
    betac_ = beta + t0 * H + h;
    decay_.compute(n, [&](int64_t i) { return gc_[i * H]; });
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = 0; e < dk; ++e) k_t_[e * C + i] = kc_[i * ldk_ + e];
    small::zero_rows(n, n, qk_.data(), C);
    small::zero_rows(n, n, kk_.data(), C);
    small::gemm_nn(n, n, dk, 1.0f, qc_, ldk_, k_t_.data(), C, qk_.data(), C);
    small::gemm_nn(n, n, dk, 1.0f, kc_, ldk_, k_t_.data(), C, kk_.data(), C);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        qk_[i * C + j] *= decay_.mask[i * C + j];
        kk_[i * C + j] = j < i ? kk_[i * C + j] * decay_.mask[i * C + j] : 0.0f;
        a_[i * C + j] = betac_[i * H] * kk_[i * C + j];
      }
    for (int64_t i = 0; i < n; ++i) {
      const float b = betac_[i * H];
      for (int64_t e = 0; e < dv; ++e) u_[i * dv + e] = b * vc_[i * ldv_ + e];
      for (int64_t e = 0; e < dk; ++e) {
        w_[i * dk + e] = b * decay_.in[i] * kc_[i * ldk_ + e];
        q_in_[i * dk + e] = decay_.in[i] * qc_[i * ldk_ + e];
        k_out_[i * dk + e] = decay_.out[i] * kc_[i * ldk_ + e];
      }
    }
    solve_unit_lower(n, a_.data(), C, u_.data(), dv);
    solve_unit_lower(n, a_.data(), C, w_.data(), dk);
  }

  // delta = U - W S for the chunk's starting state S[dk, dv].
  void compute_delta(const float* S) {
    std::copy_n(u_.data(), n_ * d_.dv, delta_.data());
    small::gemm_nn(n_, d_.dv, d_.dk, -1.0f, w_.data(), d_.dk, S, d_.dv, delta_.data(), d_.dv);
  }

  // Advances S over the chunk, writing the chunk's outputs into o (rows of [T, H, dv]) unless null.
  void forward(float* S, float* o) {
    const int64_t dk = d_.dk, dv = d_.dv;
    compute_delta(S);
    if (o) {
      small::zero_rows(n_, dv, o, ldv_);
      small::gemm_nn(n_, dv, dk, 1.0f, q_in_.data(), dk, S, dv, o, ldv_);
      small::gemm_nn(n_, dv, n_, 1.0f, qk_.data(), cap_, delta_.data(), dv, o, ldv_);
    }
    for (int64_t e = 0; e < dk * dv; ++e) S[e] *= decay_.all;
    small::gemm_tn(dk, dv, n_, 1.0f, k_out_.data(), dk, delta_.data(), dv, S, dv);
  }

  int64_t n() const { return n_; }

  // The chunk's backward. S is its starting state; dS holds dLoss/d(end state) on entry and
  // dLoss/d(start state) on exit. d_o, dq, dk, dv point at the chunk's first row of [T, H, *],
  // dg and dbeta at its first [T, H] entry; those outputs are overwritten.
  void backward(const float* S, float* dS, const float* d_o, float* dq, float* dk, float* dv, float* dg,
                float* dbeta);

 private:
  const GatedDeltaDims d_;
  const int64_t cap_, ldk_, ldv_;
  int64_t n_ = 0;
  const float *qc_ = nullptr, *kc_ = nullptr, *vc_ = nullptr, *gc_ = nullptr, *betac_ = nullptr;
  ChunkDecay decay_;
  std::vector<float> qk_;                 // [cap, cap] (Q K^T) ⊙ mask
  std::vector<float> kk_;                 // [cap, cap] (K K^T) ⊙ mask, strictly lower
  std::vector<float> a_;                  // [cap, cap] diag(beta) kk
  std::vector<float> u_, w_;              // [cap, dv], [cap, dk]
  std::vector<float> q_in_, k_out_;       // [cap, dk] diag(decay_in) Q, diag(decay_out) K
  std::vector<float> k_t_;                // [dk, cap] K^T
  std::vector<float> delta_;              // [cap, dv]
};

void GdnChunk::backward(const float* S, float* dS, const float* d_o, float* dq, float* dk, float* dv, float* dg,
                        float* dbeta) {
  const int64_t H = d_.H, Dk = d_.dk, Dv = d_.dv, C = cap_, n = n_;
  const int64_t widest = std::max({C, Dk, Dv});
  std::vector<float> d_delta(n * Dv, 0.0f), dp(n * C, 0.0f), dq_in(n * Dk, 0.0f), dk_out(n * Dk, 0.0f),
      dw(n * Dk, 0.0f), da(n * C, 0.0f), dgamma(n, 0.0f), scratch(widest * widest);
  compute_delta(S);

  // O = Q_in S + qk delta and S_end = decay_all S + K_out^T delta.
  small::gemm_tn(n, Dv, n, 1.0f, qk_.data(), C, d_o, ldv_, d_delta.data(), Dv);
  small::gemm_nn(n, Dv, Dk, 1.0f, k_out_.data(), Dk, dS, Dv, d_delta.data(), Dv);
  small::gemm_nt(n, n, Dv, 1.0f, d_o, ldv_, delta_.data(), Dv, dp.data(), C, scratch.data());
  small::gemm_nt(n, Dk, Dv, 1.0f, d_o, ldv_, S, Dv, dq_in.data(), Dk, scratch.data());
  small::gemm_nt(n, Dk, Dv, 1.0f, delta_.data(), Dv, dS, Dv, dk_out.data(), Dk, scratch.data());
  dgamma[n - 1] += decay_.all * small::dot(Dk * Dv, S, dS);
  for (int64_t e = 0; e < Dk * Dv; ++e) dS[e] *= decay_.all;
  small::gemm_tn(Dk, Dv, n, 1.0f, q_in_.data(), Dk, d_o, ldv_, dS, Dv);

  // delta = U - W S.
  small::gemm_tn(Dk, Dv, n, -1.0f, w_.data(), Dk, d_delta.data(), Dv, dS, Dv);
  small::gemm_nt(n, Dk, Dv, -1.0f, d_delta.data(), Dv, S, Dv, dw.data(), Dk, scratch.data());

  // U = (I + A)^{-1} diag(beta) V and W = (I + A)^{-1} diag(beta) K_g: with X = (I + A)^{-1} Y,
  // dY = (I + A)^{-T} dX and dA = -dY X^T. d_delta and dw become dY in place.
  float* d_bv = d_delta.data();
  float* d_bk = dw.data();
  solve_unit_lower_transposed(n, a_.data(), C, d_bv, Dv);
  solve_unit_lower_transposed(n, a_.data(), C, d_bk, Dk);
  small::gemm_nt(n, n, Dv, -1.0f, d_bv, Dv, u_.data(), Dv, da.data(), C, scratch.data());
  small::gemm_nt(n, n, Dk, -1.0f, d_bk, Dk, w_.data(), Dk, da.data(), C, scratch.data());

  small::zero_rows(n, Dk, dq, ldk_);
  small::zero_rows(n, Dk, dk, ldk_);
  for (int64_t i = 0; i < n; ++i) {
    const float b = betac_[i * H];
    const float* ki = kc_ + i * ldk_;
    for (int64_t e = 0; e < Dv; ++e) dv[i * ldv_ + e] = b * d_bv[i * Dv + e];
    const float k_dbk = small::dot(Dk, ki, d_bk + i * Dk);
    float d_b = small::dot(Dv, vc_ + i * ldv_, d_bv + i * Dv) + decay_.in[i] * k_dbk;
    for (int64_t j = 0; j < i; ++j) d_b += da[i * C + j] * kk_[i * C + j];
    dbeta[i * H] = d_b;
    dgamma[i] += b * decay_.in[i] * k_dbk + small::dot(Dk, q_in_.data() + i * Dk, dq_in.data() + i * Dk);
    // decay_out_i = exp(gamma_last - gamma_i); the last token's is exp(0), with no gradient, and
    // leaving it out avoids cancelling two O(1) terms when the true dg is tiny (very negative g).
    if (i < n - 1) {
      const float d_log = small::dot(Dk, k_out_.data() + i * Dk, dk_out.data() + i * Dk);
      dgamma[i] -= d_log;
      dgamma[n - 1] += d_log;
    }
    for (int64_t e = 0; e < Dk; ++e) {
      dq[i * ldk_ + e] = decay_.in[i] * dq_in[i * Dk + e];
      dk[i * ldk_ + e] = b * decay_.in[i] * d_bk[i * Dk + e] + decay_.out[i] * dk_out[i * Dk + e];
    }
  }

  // Through the decay mask exp(gamma_i - gamma_j), from qk and from A (diagonal terms cancel).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) {
      const float d_log = dp[i * C + j] * qk_[i * C + j] + da[i * C + j] * a_[i * C + j];
      dgamma[i] += d_log;
      dgamma[j] -= d_log;
    }
  // qk = (Q K^T) ⊙ mask and A = diag(beta) (K K^T) ⊙ mask: dp, da become the products' gradients.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      dp[i * C + j] *= decay_.mask[i * C + j];
      da[i * C + j] = j < i ? da[i * C + j] * betac_[i * H] * decay_.mask[i * C + j] : 0.0f;
    }
  small::gemm_nn(n, Dk, n, 1.0f, dp.data(), C, kc_, ldk_, dq, ldk_);
  small::gemm_tn(n, Dk, n, 1.0f, dp.data(), C, qc_, ldk_, dk, ldk_);
  small::gemm_nn(n, Dk, n, 1.0f, da.data(), C, kc_, ldk_, dk, ldk_);
  small::gemm_tn(n, Dk, n, 1.0f, da.data(), C, kc_, ldk_, dk, ldk_);

  // gamma is the inclusive cumulative sum of g.
  float run = 0.0f;
  for (int64_t i = n - 1; i >= 0; --i) dg[i * H] = run += dgamma[i];
}

int64_t checked_chunk(int64_t chunk) { return std::clamp<int64_t>(chunk, 1, ChunkDecay::kMaxChunk); }

}  // namespace

void gated_delta_chunked(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                         const float* beta, const float* s0, float* o, float* s_final, int64_t chunk) {
  const int64_t T = d.T, H = d.H, state = d.dk * d.dv, C = checked_chunk(chunk);
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    GdnChunk work(d, C);
    std::vector<float> S(state, 0.0f);
    if (s0) std::copy_n(s0 + h * state, state, S.data());
    for (int64_t t0 = 0; t0 < T; t0 += C) {
      work.prepare(h, t0, std::min(C, T - t0), q, k, v, g, beta);
      work.forward(S.data(), o + (t0 * H + h) * d.dv);
    }
    if (s_final) std::copy_n(S.data(), state, s_final + h * state);
  }
}

void gated_delta_chunked_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                  const float* g, const float* beta, const float* s0, const float* d_o,
                                  const float* d_s_final, float* dq, float* dk, float* dv, float* dg, float* dbeta,
                                  float* ds0, int64_t chunk) {
  const int64_t T = d.T, H = d.H, state = d.dk * d.dv, C = checked_chunk(chunk);
  const int64_t chunks = (T + C - 1) / C;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    GdnChunk work(d, C);
    // starts[c] is the state entering chunk c.
    std::vector<float> starts((chunks + 1) * state, 0.0f);
    if (s0) std::copy_n(s0 + h * state, state, starts.data());
    for (int64_t c = 0; c < chunks; ++c) {
      std::copy_n(starts.data() + c * state, state, starts.data() + (c + 1) * state);
      work.prepare(h, c * C, std::min(C, T - c * C), q, k, v, g, beta);
      work.forward(starts.data() + (c + 1) * state, nullptr);
    }
    std::vector<float> dS(state, 0.0f);
    if (d_s_final) std::copy_n(d_s_final + h * state, state, dS.data());
    for (int64_t c = chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * C;
      work.prepare(h, t0, std::min(C, T - t0), q, k, v, g, beta);
      work.backward(starts.data() + c * state, dS.data(), d_o + (t0 * H + h) * d.dv, dq + (t0 * H + h) * d.dk,
                    dk + (t0 * H + h) * d.dk, dv + (t0 * H + h) * d.dv, dg + t0 * H + h, dbeta + t0 * H + h);
    }
    if (ds0) std::copy_n(dS.data(), state, ds0 + h * state);
  }
}

}  // namespace s0::ops
