// Chunked Mamba-2 SSD, forward and backward. Within a chunk starting from state S[P, N], with
// a the cumulative log decay (dt A) and U = diag(dt) X,
//   Y = ((C B^T) ⊙ exp(a_i - a_j), j <= i) U + diag(exp(a)) C S^T + D X,
//   S <- exp(a_last) S + U^T diag(exp(a_last - a)) B.
#include <algorithm>
#include <vector>

#include "ops/cpu/chunk_decay.h"
#include "ops/cpu/small_matmul.h"
#include "ops/cpu/ssd.h"
#include "ops/cpu/thread_cache.h"

namespace s0::ops::cpu {

namespace {

int64_t checked_chunk(int64_t chunk) { return std::clamp<int64_t>(chunk, 1, ChunkDecay::kMaxChunk); }

// dst[cols, rows] = src[rows, cols]^T
void transpose(int64_t rows, int64_t cols, const float* src, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

struct SsdInputs {
  const float *x, *dt, *A, *B, *C, *D;
};

// One head's chunk: per-thread buffers sized for `cap` tokens. The head's rows are gathered
// contiguous: in [T, H, P] consecutive rows of one head lie H * P floats apart, a stride that maps
// them onto few cache sets.
class SsdChunk {
 public:
  SsdChunk(const SsdDims& d, int64_t cap)
      : d_(d), cap_(cap), ldx_(d.H * d.P), ldbc_(d.G * d.N), x_(cap * d.P), b_(cap * d.N), c_(cap * d.N),
        decay_(cap), mixing_(cap * cap), u_(cap * d.P), b_out_(cap * d.N), c_in_(cap * d.N), rows_p_(cap * d.P),
        du_(cap * d.P), d_mixing_(cap * cap), d_bc_(cap * d.N), db_(cap * d.N), dc_(cap * d.N), da_(cap), dout_(cap), spans_(cap), drow_(cap) {}

  // Tokens [t0, t0 + n) of head h: decays, U, diag(decay_out) B, diag(decay_in) C and, when
  // with_mixing (the outputs need it, the state sweep does not), the masked C B^T.
  void load(const SsdInputs& in, int64_t h, int64_t t0, int64_t n, bool with_mixing);

  // The forward keeps the state transposed, S^T[N, P], so that both its products stream rows:
  // y (rows of [T, H, P]) = mixing U + C_in S^T + D x.
  void output(const float* S_t, float* y_rows);

  // S^T <- decay_all S^T + B_out^T U.
  void advance_transposed(float* S_t) {
    for (int64_t e = 0; e < d_.P * d_.N; ++e) S_t[e] *= decay_.all;
    small::gemm_tn(d_.N, d_.P, n_, 1.0f, b_out_.data(), d_.N, u_.data(), d_.P, S_t, d_.P);
  }

  // The backward keeps it as is, S[P, N]: S <- decay_all S + U^T B_out.
  void advance(float* S) {
    for (int64_t e = 0; e < d_.P * d_.N; ++e) S[e] *= decay_.all;
    small::gemm_tn(d_.P, d_.N, n_, 1.0f, u_.data(), d_.P, b_out_.data(), d_.N, S, d_.N);
  }

  // The chunk's backward (loaded with mixing). S is its starting state; dS holds dLoss/d(end state)
  // on entry and dLoss/d(start state) on exit. d_y, dx point at the chunk's first row of
  // [T, H, P], ddt at its first [T, H] entry; dB and dC (leading dimension ld_bc) at the first of
  // the chunk's rows that receive this head's share. All outputs are overwritten.
  void backward(const float* S, float* dS, const float* d_y_rows, float* dx_rows, float* ddt, float* dB_rows,
                float* dC_rows, int64_t ld_bc);

 private:
  const SsdDims d_;
  SsdInputs in_{};
  const int64_t cap_, ldx_, ldbc_;
  int64_t h_ = 0, t0_ = 0, n_ = 0;
  std::vector<float> x_, b_, c_;  // [cap, P], [cap, N], [cap, N] the gathered rows
  ChunkDecay decay_;
  std::vector<float> mixing_;     // [cap, cap] (C B^T) ⊙ mask
  std::vector<float> u_;          // [cap, P] diag(dt) X
  std::vector<float> b_out_;      // [cap, N] diag(decay_out) B
  std::vector<float> c_in_;       // [cap, N] diag(decay_in) C
  std::vector<float> rows_p_;     // [cap, P] y before scattering, or d_y after gathering
  // Backward only.
  std::vector<float> du_, d_mixing_, d_bc_, db_, dc_;
  // [cap] the gradients of the decay factors (ops/log_decay_grad.h): through exp(a_i), through
  // exp(a_last - a_i), through the mask terms spanning each token; one mask row.
  std::vector<float> da_, dout_, spans_, drow_;
};

void SsdChunk::load(const SsdInputs& in, int64_t h, int64_t t0, int64_t n, bool with_mixing) {
  in_ = in;
  const int64_t H = d_.H, G = d_.G, P = d_.P, N = d_.N, C = cap_;
  const int64_t grp = h / (H / G);
  h_ = h;
  t0_ = t0;
  n_ = n;
  small::gather_rows(n, P, in_.x + (t0 * H + h) * P, ldx_, x_.data());
  small::gather_rows(n, N, in_.B + (t0 * G + grp) * N, ldbc_, b_.data());
  small::gather_rows(n, N, in_.C + (t0 * G + grp) * N, ldbc_, c_.data());
  const float a = in_.A[h];
  const float* dt = in_.dt + t0 * H + h;
  decay_.compute(n, [&](int64_t i) { return double(dt[i * H]) * a; });
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < P; ++p) u_[i * P + p] = dt[i * H] * x_[i * P + p];
    for (int64_t e = 0; e < N; ++e) {
      b_out_[i * N + e] = decay_.out[i] * b_[i * N + e];
      c_in_[i * N + e] = decay_.in[i] * c_[i * N + e];
    }
  }
  if (!with_mixing) return;
  small::zero_rows(n, n, mixing_.data(), C);
  small::gemm_nt(n, n, N, 1.0f, c_.data(), N, b_.data(), N, mixing_.data(), C, true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) mixing_[i * C + j] *= decay_.mask[i * C + j];
}

void SsdChunk::output(const float* S_t, float* y_rows) {
  const int64_t P = d_.P, N = d_.N;
  float* y = rows_p_.data();
  for (int64_t e = 0; e < n_ * P; ++e) y[e] = in_.D[h_] * x_[e];
  small::gemm_nn(n_, P, n_, 1.0f, mixing_.data(), cap_, u_.data(), P, y, P, true);
  small::gemm_nn(n_, P, N, 1.0f, c_in_.data(), N, S_t, P, y, P);
  small::scatter_rows(n_, P, y, y_rows, ldx_);
}

void SsdChunk::backward(const float* S, float* dS, const float* d_y_rows, float* dx_rows, float* ddt,
                        float* dB_rows, float* dC_rows, int64_t ld_bc) {
  const int64_t H = d_.H, P = d_.P, N = d_.N, C = cap_, n = n_;
  float* d_y = rows_p_.data();
  small::gather_rows(n, P, d_y_rows, ldx_, d_y);
  float* du = du_.data();
  float* d_mixing = d_mixing_.data();
  float* d_bc = d_bc_.data();
  float* db = db_.data();
  float* dc = dc_.data();
  float* da = da_.data();
  float* dout = dout_.data();
  float* spans = spans_.data();
  float* drow = drow_.data();
  small::zero_rows(n, P, du, P);
  small::zero_rows(n, n, d_mixing, C);
  small::zero_rows(n, N, db, N);
  small::zero_rows(n, N, dc, N);
  std::fill_n(da, n, 0.0f);
  std::fill_n(dout, n, 0.0f);
  std::fill_n(spans, n, 0.0f);

  // Y = mixing U + C_in S^T and S_end = decay_all S + U^T B_out.
  small::gemm_tn(n, P, n, 1.0f, mixing_.data(), C, d_y, P, du, P, true);
  small::gemm_nt(n, P, N, 1.0f, b_out_.data(), N, dS, N, du, P);
  small::gemm_nt(n, n, P, 1.0f, d_y, P, u_.data(), P, d_mixing, C, true);
  // mixing = (C B^T) ⊙ exp(a_i - a_j): the mask's share of da, then d(C B^T).
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) drow[j] = d_mixing[i * C + j] * mixing_[i * C + j];
    ChunkDecay::add_spans(i, drow, spans);
    for (int64_t j = 0; j < n; ++j) d_mixing[i * C + j] *= decay_.mask[i * C + j];
  }
  small::gemm_nn(n, N, n, 1.0f, d_mixing, C, b_.data(), N, dc, N, true);
  small::gemm_tn(n, N, n, 1.0f, d_mixing, C, c_.data(), N, db, N, true);

  // C_in S^T with C_in = diag(exp(a)) C: d_bc = dY S.
  small::zero_rows(n, N, d_bc, N);
  small::gemm_nn(n, N, P, 1.0f, d_y, P, S, N, d_bc, N);
  for (int64_t i = 0; i < n; ++i) {
    da[i] += decay_.in[i] * small::dot(N, c_.data() + i * N, d_bc + i * N);
    for (int64_t e = 0; e < N; ++e) dc[i * N + e] += decay_.in[i] * d_bc[i * N + e];
  }

  // U^T B_out with B_out = diag(exp(a_last - a)) B: d_bc = U dS_end.
  small::zero_rows(n, N, d_bc, N);
  small::gemm_nn(n, N, P, 1.0f, u_.data(), P, dS, N, d_bc, N);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t e = 0; e < N; ++e) db[i * N + e] += decay_.out[i] * d_bc[i * N + e];
    // The last token's factor is exp(0), with no gradient.
    if (i < n - 1) dout[i] = small::dot(N, b_out_.data() + i * N, d_bc + i * N);
  }
  const float d_all = decay_.all * small::dot(P * N, S, dS);

  // The start state's gradient: decay_all dS_end + dY^T C_in.
  for (int64_t e = 0; e < P * N; ++e) dS[e] *= decay_.all;
  small::gemm_tn(P, N, n, 1.0f, d_y, P, c_in_.data(), N, dS, N);

  // U = diag(dt) X, a = cumsum(dt A), y's skip term D x.
  const float a = in_.A[h_], skip = in_.D[h_];
  const float* dt = in_.dt + t0_ * H + h_;
  // The gradient of each token's log decay dt A (ops/log_decay_grad.h), in place of da.
  log_decay_grad(n, d_all, da, dout, spans, da, 1);
  for (int64_t i = n - 1; i >= 0; --i) {
    ddt[i * H] = small::dot(P, x_.data() + i * P, du + i * P) + a * da[i];
    for (int64_t p = 0; p < P; ++p) du[i * P + p] = skip * d_y[i * P + p] + dt[i * H] * du[i * P + p];
  }
  small::scatter_rows(n, P, du, dx_rows, ldx_);
  small::scatter_rows(n, N, db, dB_rows, ld_bc);
  small::scatter_rows(n, N, dc, dC_rows, ld_bc);
}

// This thread's chunk buffers for these dimensions (T does not enter them).
SsdChunk& thread_chunk(const SsdDims& d, int64_t cap) {
  return thread_cached<SsdChunk>(std::make_tuple(d.H, d.P, d.G, d.N, cap), d, cap);
}

// Tags of the per-thread buffers (thread_cache.h).
struct WindowStarts;          // a worker's chunk starting states within one window
struct WindowStartsAllHeads;  // the caller's: every head's state entering every window
struct StateGradients;        // the caller's: every head's state gradient
struct SharesOfDB;            // the caller's: each head's share of dB over one window
struct SharesOfDC;            // likewise for dC
struct ForwardState;          // a worker's state in the forward's layout
struct SweptState;            // a worker's state in the backward's layout

}  // namespace

int64_t ssd_chunk_starts_floats(const SsdDims& d, int64_t chunk) {
  const int64_t L = checked_chunk(chunk);
  return d.H * ((d.T + L - 1) / L) * d.P * d.N;
}

void ssd_chunked(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* s0, float* y, float* s_final, int64_t chunk, float* chunk_starts) {
  const int64_t T = d.T, H = d.H, state = d.P * d.N, L = checked_chunk(chunk), chunks = (T + L - 1) / L;
  const SsdInputs in{x, dt, A, B, C, D};
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    SsdChunk& work = thread_chunk(d, L);
    float* S_t = thread_buffer<ForwardState>(state);
    if (s0) transpose(d.P, d.N, s0 + h * state, S_t);
    else std::fill_n(S_t, state, 0.0f);
    // The state in the backward's layout, advanced as the backward's sweep advances it.
    float* S = chunk_starts ? thread_buffer<SweptState>(state) : nullptr;
    if (S && s0) std::copy_n(s0 + h * state, state, S);
    else if (S) std::fill_n(S, state, 0.0f);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * L;
      work.load(in, h, t0, std::min(L, T - t0), true);
      work.output(S_t, y + (t0 * H + h) * d.P);
      work.advance_transposed(S_t);
      if (!S) continue;
      std::copy_n(S, state, chunk_starts + (h * chunks + c) * state);
      work.advance(S);
    }
    if (s_final) transpose(d.N, d.P, S_t, s_final + h * state);
  }
}

void ssd_chunked_backward(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B,
                          const float* C, const float* D, const float* s0, const float* d_y,
                          const float* d_s_final, float* dx, float* ddt, float* dB, float* dC, float* dD,
                          float* ds0, int64_t chunk, const float* chunk_starts) {
  const int64_t T = d.T, H = d.H, G = d.G, P = d.P, N = d.N, state = d.P * d.N, heads_per_group = d.H / d.G;
  const int64_t L = checked_chunk(chunk), chunks = (T + L - 1) / L;
  // Each head's share of dB and dC is kept apart, [window tokens, H, N], then summed per group. Time
  // is cut into windows of `window` chunks so that those shares stay within kShareFloats.
  constexpr int64_t kShareFloats = int64_t{1} << 22;
  const int64_t window = std::max<int64_t>(1, std::min(kShareFloats / (2 * L * H * N), chunks));
  const int64_t windows = (chunks + window - 1) / window;
  const SsdInputs in{x, dt, A, B, C, D};
  // window_starts[h, w]: head h's state entering window w; d_carry[h]: dLoss/d(its state) at the
  // end of the window being processed. The calling thread keeps these between calls (thread_cache.h).
  float* window_starts = thread_buffer<WindowStartsAllHeads>(H * windows * state);
  float* d_carry = thread_buffer<StateGradients>(H * state);
  float* share_dB = thread_buffer<SharesOfDB>(window * L * H * N);
  float* share_dC = thread_buffer<SharesOfDC>(window * L * H * N);
  if (d_s_final) {
    std::copy_n(d_s_final, H * state, d_carry);
  } else {
    std::fill_n(d_carry, H * state, 0.0f);
  }
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    if (!chunk_starts) {  // a state sweep keeps each window's first
      SsdChunk& work = thread_chunk(d, L);
      float* S = thread_buffer<SweptState>(state);
      if (s0) std::copy_n(s0 + h * state, state, S);
      else std::fill_n(S, state, 0.0f);
      for (int64_t c = 0; c < chunks; ++c) {
        if (c % window == 0) std::copy_n(S, state, window_starts + (h * windows + c / window) * state);
        work.load(in, h, c * L, std::min(L, T - c * L), false);
        work.advance(S);
      }
    }
    float d_skip = 0.0f;
    for (int64_t t = 0; t < T; ++t) d_skip += small::dot(P, d_y + (t * H + h) * P, x + (t * H + h) * P);
    dD[h] = d_skip;
  }
  for (int64_t w = windows - 1; w >= 0; --w) {
    const int64_t c_begin = w * window, c_end = std::min(chunks, c_begin + window);
    const int64_t t_begin = c_begin * L, t_end = std::min(T, c_end * L);
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < H; ++h) {
      SsdChunk& work = thread_chunk(d, L);
      // The window's chunk starting states: the forward's, or recomputed from the window's first.
      const float* starts = chunk_starts ? chunk_starts + (h * chunks + c_begin) * state : nullptr;
      if (!starts) {
        float* swept = thread_buffer<WindowStarts>((c_end - c_begin) * state);
        std::copy_n(window_starts + (h * windows + w) * state, state, swept);
        for (int64_t c = c_begin; c + 1 < c_end; ++c) {
          float* next = swept + (c + 1 - c_begin) * state;
          std::copy_n(next - state, state, next);
          work.load(in, h, c * L, L, false);
          work.advance(next);
        }
        starts = swept;
      }
      float* dS = d_carry + h * state;
      for (int64_t c = c_end - 1; c >= c_begin; --c) {
        const int64_t t0 = c * L, row = (t0 * H + h) * P, share = ((t0 - t_begin) * H + h) * N;
        work.load(in, h, t0, std::min(L, T - t0), true);
        work.backward(starts + (c - c_begin) * state, dS, d_y + row, dx + row, ddt + t0 * H + h,
                      share_dB + share, share_dC + share, H * N);
      }
    }
#pragma omp parallel for schedule(static)
    for (int64_t t = t_begin; t < t_end; ++t)
      for (int64_t grp = 0; grp < G; ++grp) {
        float* dBt = dB + (t * G + grp) * N;
        float* dCt = dC + (t * G + grp) * N;
        std::fill_n(dBt, N, 0.0f);
        std::fill_n(dCt, N, 0.0f);
        for (int64_t h = grp * heads_per_group; h < (grp + 1) * heads_per_group; ++h) {
          const float* sb = share_dB + ((t - t_begin) * H + h) * N;
          const float* sc = share_dC + ((t - t_begin) * H + h) * N;
          for (int64_t e = 0; e < N; ++e) {
            dBt[e] += sb[e];
            dCt[e] += sc[e];
          }
        }
      }
  }
  if (ds0) std::copy_n(d_carry, H * state, ds0);
}

}  // namespace s0::ops::cpu
