// Chunked Mamba-2 SSD, forward and backward. Within a chunk starting from state S[P, N], with
// a the cumulative log decay (dt A) and U = diag(dt) X,
//   Y = ((C B^T) ⊙ exp(a_i - a_j), j <= i) U + diag(exp(a)) C S^T + D X,
//   S <- exp(a_last) S + U^T diag(exp(a_last - a)) B.
#include <algorithm>
#include <vector>

#include "ops/cpu/chunk_decay.h"
#include "ops/cpu/small_matmul.h"
#include "ops/cpu/ssd.h"

namespace s0::ops {

namespace {

int64_t checked_chunk(int64_t chunk) { return std::clamp<int64_t>(chunk, 1, ChunkDecay::kMaxChunk); }

struct SsdInputs {
  const float *x, *dt, *A, *B, *C, *D;
};

// One chunk of one group, then of each of its heads: per-thread buffers sized for `cap` tokens.
class SsdChunk {
 public:
  SsdChunk(const SsdDims& d, const SsdInputs& in, int64_t cap)
      : d_(d), in_(in), cap_(cap), ldx_(d.H * d.P), ldbc_(d.G * d.N), b_t_(d.N * cap), cb_(cap * cap),
        decay_(cap), mixing_(cap * cap), u_(cap * d.P), b_out_(cap * d.N), c_in_(cap * d.N),
        scratch_(std::max(d.P, d.N) * std::max({cap, d.P, d.N})) {}

  // Tokens [t0, t0 + n) of group grp; with_mixing also forms C B^T, which only the outputs need.
  void load_group(int64_t grp, int64_t t0, int64_t n, bool with_mixing) {
    grp_ = grp;
    t0_ = t0;
    n_ = n;
    bc_ = in_.B + (t0 * d_.G + grp) * d_.N;
    cc_ = in_.C + (t0 * d_.G + grp) * d_.N;
    with_mixing_ = with_mixing;
    if (!with_mixing) return;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = 0; e < d_.N; ++e) b_t_[e * cap_ + i] = bc_[i * ldbc_ + e];
    small::zero_rows(n, n, cb_.data(), cap_);
    small::gemm_nn(n, n, d_.N, 1.0f, cc_, ldbc_, b_t_.data(), cap_, cb_.data(), cap_);
  }

  // Head h of the loaded group: its decays, U, diag(decay_out) B, diag(decay_in) C and, when the
  // group was loaded with mixing, the masked C B^T.
  void load_head(int64_t h) {
    const int64_t H = d_.H, P = d_.P, N = d_.N, n = n_, C = cap_;
    h_ = h;
    xc_ = in_.x + (t0_ * H + h) * P;
    dtc_ = in_.dt + t0_ * H + h;
    const float a = in_.A[h];
    decay_.compute(n, [&](int64_t i) { return double(dtc_[i * H]) * a; });
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t p = 0; p < P; ++p) u_[i * P + p] = dtc_[i * H] * xc_[i * ldx_ + p];
      for (int64_t e = 0; e < N; ++e) {
        b_out_[i * N + e] = decay_.out[i] * bc_[i * ldbc_ + e];
        c_in_[i * N + e] = decay_.in[i] * cc_[i * ldbc_ + e];
      }
      if (with_mixing_)
        for (int64_t j = 0; j < n; ++j) mixing_[i * C + j] = cb_[i * C + j] * decay_.mask[i * C + j];
    }
  }

  // y (rows of [T, H, P]) = mixing U + C_in S^T + D x.
  void output(const float* S, float* y) {
    const int64_t P = d_.P, N = d_.N;
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t p = 0; p < P; ++p) y[i * ldx_ + p] = in_.D[h_] * xc_[i * ldx_ + p];
    small::gemm_nn(n_, P, n_, 1.0f, mixing_.data(), cap_, u_.data(), P, y, ldx_);
    small::gemm_nt(n_, P, N, 1.0f, c_in_.data(), N, S, N, y, ldx_);
  }

  // S <- decay_all S + U^T B_out.
  void advance(float* S) {
    for (int64_t e = 0; e < d_.P * d_.N; ++e) S[e] *= decay_.all;
    small::gemm_tn(d_.P, d_.N, n_, 1.0f, u_.data(), d_.P, b_out_.data(), d_.N, S, d_.N);
  }

  // dS from dLoss/d(end state) to dLoss/d(start state): decay_all dS + dY^T C_in (the outputs'
  // share; everything else in the chunk is independent of the start state).
  void retreat(float* dS, const float* d_y) {
    for (int64_t e = 0; e < d_.P * d_.N; ++e) dS[e] *= decay_.all;
    small::gemm_tn(d_.P, d_.N, n_, 1.0f, d_y, ldx_, c_in_.data(), d_.N, dS, d_.N);
  }

  // The head's token gradients in the chunk, given its start state S and dS_end = dLoss/d(end
  // state). d_y, dx point at the chunk's first row of [T, H, P] and ddt at its first [T, H] entry
  // (overwritten); dB, dC at the first row of [T, G, N] (added to).
  void backward(const float* S, const float* dS_end, const float* d_y, float* dx, float* ddt, float* dB,
                float* dC);

 private:
  const SsdDims d_;
  const SsdInputs in_;
  const int64_t cap_, ldx_, ldbc_;
  int64_t grp_ = 0, t0_ = 0, n_ = 0, h_ = 0;
  bool with_mixing_ = false;
  const float *bc_ = nullptr, *cc_ = nullptr, *xc_ = nullptr, *dtc_ = nullptr;
  std::vector<float> b_t_;     // [N, cap] B^T
  std::vector<float> cb_;      // [cap, cap] C B^T
  ChunkDecay decay_;
  std::vector<float> mixing_;  // [cap, cap] (C B^T) ⊙ mask
  std::vector<float> u_;       // [cap, P] diag(dt) X
  std::vector<float> b_out_;   // [cap, N] diag(decay_out) B
  std::vector<float> c_in_;    // [cap, N] diag(decay_in) C
  std::vector<float> scratch_; // transposes for gemm_nt
};

void SsdChunk::backward(const float* S, const float* dS_end, const float* d_y, float* dx, float* ddt, float* dB,
                        float* dC) {
  const int64_t H = d_.H, P = d_.P, N = d_.N, C = cap_, n = n_;
  std::vector<float> du(n * P, 0.0f), d_mixing(n * C, 0.0f), d_bc(n * N), da(n, 0.0f);

  // Y = mixing U + C_in S^T and S_end = ... + U^T B_out.
  small::gemm_tn(n, P, n, 1.0f, mixing_.data(), C, d_y, ldx_, du.data(), P);
  small::gemm_nt(n, P, N, 1.0f, b_out_.data(), N, dS_end, N, du.data(), P);
  small::gemm_nt(n, n, P, 1.0f, d_y, ldx_, u_.data(), P, d_mixing.data(), C);
  // mixing = (C B^T) ⊙ exp(a_i - a_j): the mask's share of da, then d(C B^T).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (j < i) {
        const float d_log = d_mixing[i * C + j] * mixing_[i * C + j];
        da[i] += d_log;
        da[j] -= d_log;
      }
      d_mixing[i * C + j] *= decay_.mask[i * C + j];
    }
  small::gemm_nn(n, N, n, 1.0f, d_mixing.data(), C, bc_, ldbc_, dC, ldbc_);
  small::gemm_tn(n, N, n, 1.0f, d_mixing.data(), C, cc_, ldbc_, dB, ldbc_);

  // C_in S^T with C_in = diag(exp(a)) C: d_bc = dY S.
  small::zero_rows(n, N, d_bc.data(), N);
  small::gemm_nn(n, N, P, 1.0f, d_y, ldx_, S, N, d_bc.data(), N);
  for (int64_t i = 0; i < n; ++i) {
    da[i] += decay_.in[i] * small::dot(N, cc_ + i * ldbc_, d_bc.data() + i * N);
    for (int64_t e = 0; e < N; ++e) dC[i * ldbc_ + e] += decay_.in[i] * d_bc[i * N + e];
  }

  // U^T B_out with B_out = diag(exp(a_last - a)) B: d_bc = U dS_end.
  small::zero_rows(n, N, d_bc.data(), N);
  small::gemm_nn(n, N, P, 1.0f, u_.data(), P, dS_end, N, d_bc.data(), N);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t e = 0; e < N; ++e) dB[i * ldbc_ + e] += decay_.out[i] * d_bc[i * N + e];
    // The last token's factor is exp(0): leaving it out avoids cancelling two large terms.
    if (i < n - 1) {
      const float d_log = small::dot(N, b_out_.data() + i * N, d_bc.data() + i * N);
      da[i] -= d_log;
      da[n - 1] += d_log;
    }
  }
  da[n - 1] += decay_.all * small::dot(P * N, S, dS_end);

  // U = diag(dt) X, a = cumsum(dt A), y's skip term D x.
  const float a = in_.A[h_], skip = in_.D[h_];
  float run = 0.0f;
  for (int64_t i = n - 1; i >= 0; --i) {
    run += da[i];
    const float* xi = xc_ + i * ldx_;
    ddt[i * H] = small::dot(P, xi, du.data() + i * P) + a * run;
    for (int64_t p = 0; p < P; ++p) dx[i * ldx_ + p] = skip * d_y[i * ldx_ + p] + dtc_[i * H] * du[i * P + p];
  }
}

}  // namespace

void ssd_chunked(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* s0, float* y, float* s_final, int64_t chunk) {
  const int64_t T = d.T, H = d.H, state = d.P * d.N, heads_per_group = d.H / d.G, L = checked_chunk(chunk);
  const SsdInputs in{x, dt, A, B, C, D};
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    SsdChunk work(d, in, L);
    std::vector<float> S(state, 0.0f);
    if (s0) std::copy_n(s0 + h * state, state, S.data());
    for (int64_t t0 = 0; t0 < T; t0 += L) {
      work.load_group(h / heads_per_group, t0, std::min(L, T - t0), true);
      work.load_head(h);
      work.output(S.data(), y + (t0 * H + h) * d.P);
      work.advance(S.data());
    }
    if (s_final) std::copy_n(S.data(), state, s_final + h * state);
  }
}

void ssd_chunked_backward(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B,
                          const float* C, const float* D, const float* s0, const float* d_y,
                          const float* d_s_final, float* dx, float* ddt, float* dB, float* dC, float* dD,
                          float* ds0, int64_t chunk) {
  const int64_t T = d.T, H = d.H, G = d.G, P = d.P, N = d.N, state = d.P * d.N, heads_per_group = d.H / d.G;
  const int64_t L = checked_chunk(chunk), chunks = (T + L - 1) / L;
  const SsdInputs in{x, dt, A, B, C, D};
  // starts[h, c]: head h's state entering chunk c; d_ends[h, c]: dLoss/d(its state leaving chunk c).
  std::vector<float> starts(H * chunks * state), d_ends(H * chunks * state);
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    SsdChunk work(d, in, L);
    std::vector<float> S(state, 0.0f);
    if (s0) std::copy_n(s0 + h * state, state, S.data());
    for (int64_t c = 0; c < chunks; ++c) {
      std::copy_n(S.data(), state, starts.data() + (h * chunks + c) * state);
      work.load_group(h / heads_per_group, c * L, std::min(L, T - c * L), false);
      work.load_head(h);
      work.advance(S.data());
    }
    std::vector<float>& dS = S;
    std::fill(dS.begin(), dS.end(), 0.0f);
    if (d_s_final) std::copy_n(d_s_final + h * state, state, dS.data());
    for (int64_t c = chunks - 1; c >= 0; --c) {
      std::copy_n(dS.data(), state, d_ends.data() + (h * chunks + c) * state);
      work.load_group(h / heads_per_group, c * L, std::min(L, T - c * L), false);
      work.load_head(h);
      work.retreat(dS.data(), d_y + (c * L * H + h) * P);
    }
    if (ds0) std::copy_n(dS.data(), state, ds0 + h * state);
    float d_skip = 0.0f;
    for (int64_t t = 0; t < T; ++t) d_skip += small::dot(P, d_y + (t * H + h) * P, x + (t * H + h) * P);
    dD[h] = d_skip;
  }
  // Every (group, chunk) pair owns its rows of dB and dC, which its heads add into in turn.
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t grp = 0; grp < G; ++grp)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * L, n = std::min(L, T - t0);
      SsdChunk work(d, in, L);
      work.load_group(grp, t0, n, true);
      float* dBc = dB + (t0 * G + grp) * N;
      float* dCc = dC + (t0 * G + grp) * N;
      small::zero_rows(n, N, dBc, G * N);
      small::zero_rows(n, N, dCc, G * N);
      for (int64_t h = grp * heads_per_group; h < (grp + 1) * heads_per_group; ++h) {
        work.load_head(h);
        const int64_t row = (t0 * H + h) * P;
        work.backward(starts.data() + (h * chunks + c) * state, d_ends.data() + (h * chunks + c) * state, d_y + row,
                      dx + row, ddt + t0 * H + h, dBc, dCc);
      }
    }
}

}  // namespace s0::ops
