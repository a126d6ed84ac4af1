// The recurrences, token by token (reference) against chunked, forward and backward, at production
// shapes, next to an OpenBLAS GEMM for the machine's rate. GFLOP/s counts the chunked algorithm's
// useful multiply-adds (for the reference too, so that the rates compare as speed on one problem);
// the backward reports time only: its ratio to the forward is what matters.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ops/cpu/gated_delta.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/ssd.h"

namespace {

using s0::ops::cpu::GatedDeltaDims;
using s0::ops::cpu::SsdDims;

std::vector<float> uniform(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng);
  return out;
}

void report_gflops(benchmark::State& st, double flops) {
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gemm(benchmark::State& st) {
  const int64_t n = st.range(0);
  const auto a = uniform(n * n, -1, 1, 1), b = uniform(n * n, -1, 1, 2);
  std::vector<float> c(n * n);
  for (auto _ : st) s0::ops::cpu::gemm(false, true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  report_gflops(st, 2.0 * n * n * n);
}

// ---- gated delta rule: args {T, H, dk = dv, chunk}

struct GdnSetup {
  GatedDeltaDims d;
  std::vector<float> q, k, v, g, beta, s0, o, s_final, d_o, dq, dk, dv, dg, dbeta, ds0;
  int64_t chunk;
  explicit GdnSetup(const benchmark::State& st)
      : d{st.range(0), st.range(1), st.range(2), st.range(2)},
        q(uniform(d.T * d.H * d.dk, -0.01f, 0.01f, 1)), k(uniform(d.T * d.H * d.dk, -0.09f, 0.09f, 2)),
        v(uniform(d.T * d.H * d.dv, -1, 1, 3)), g(uniform(d.T * d.H, -1.0f, -0.01f, 4)),
        beta(uniform(d.T * d.H, 0.1f, 0.9f, 5)), s0(uniform(d.H * d.dk * d.dv, -1, 1, 6)), o(d.T * d.H * d.dv),
        s_final(d.H * d.dk * d.dv), d_o(uniform(d.T * d.H * d.dv, -1, 1, 7)), dq(q.size()), dk(k.size()),
        dv(v.size()), dg(g.size()), dbeta(beta.size()), ds0(s0.size()), chunk(st.range(3)) {}
  // Multiply-adds of the chunked forward, x2, triangles counted as half: the lower halves of Q K^T
  // and K K^T, (I + A)^{-1}, U and W, delta, the outputs and the state update.
  double forward_flops() const {
    const double C = chunk, chunks = double(d.T) / C;
    return d.H * chunks *
           (2 * C * C * d.dk + C * C * C / 3 + C * C * (d.dk + d.dv) + C * C * d.dv + 6 * C * d.dk * d.dv);
  }
};

void BM_GdnReferenceForward(benchmark::State& st) {
  GdnSetup s(st);
  for (auto _ : st)
    s0::ops::cpu::gated_delta_reference(s.d, s.q.data(), s.k.data(), s.v.data(), s.g.data(), s.beta.data(), s.s0.data(),
                                   s.o.data(), s.s_final.data());
  report_gflops(st, s.forward_flops());
}

void BM_GdnChunkedForward(benchmark::State& st) {
  GdnSetup s(st);
  for (auto _ : st)
    s0::ops::cpu::gated_delta_chunked(s.d, s.q.data(), s.k.data(), s.v.data(), s.g.data(), s.beta.data(), s.s0.data(),
                                 s.o.data(), s.s_final.data(), s.chunk);
  report_gflops(st, s.forward_flops());
}

void BM_GdnChunkedBackward(benchmark::State& st) {
  GdnSetup s(st);
  for (auto _ : st)
    s0::ops::cpu::gated_delta_chunked_backward(s.d, s.q.data(), s.k.data(), s.v.data(), s.g.data(), s.beta.data(),
                                          s.s0.data(), s.d_o.data(), nullptr, s.dq.data(), s.dk.data(), s.dv.data(),
                                          s.dg.data(), s.dbeta.data(), s.ds0.data(), s.chunk);
}

// ---- SSD: args {T, H, P, G, N, chunk}

struct SsdSetup {
  SsdDims d;
  std::vector<float> x, dt, A, B, C, D, s0, y, s_final, d_y, dx, ddt, dB, dC, dD, ds0;
  int64_t chunk;
  explicit SsdSetup(const benchmark::State& st)
      : d{st.range(0), st.range(1), st.range(2), st.range(3), st.range(4)},
        x(uniform(d.T * d.H * d.P, -1, 1, 1)), dt(uniform(d.T * d.H, 0.001f, 0.1f, 2)), A(uniform(d.H, -8, -1, 3)),
        B(uniform(d.T * d.G * d.N, -1, 1, 4)), C(uniform(d.T * d.G * d.N, -1, 1, 5)), D(uniform(d.H, -1, 1, 6)),
        s0(uniform(d.H * d.P * d.N, -1, 1, 7)), y(x.size()), s_final(s0.size()), d_y(uniform(x.size(), -1, 1, 8)),
        dx(x.size()), ddt(dt.size()), dB(B.size()), dC(C.size()), dD(D.size()), ds0(s0.size()),
        chunk(st.range(5)) {}
  // Multiply-adds of the chunked forward, x2, triangles counted as half: the lower half of C B^T,
  // the intra-chunk outputs, C S^T, the state update.
  double forward_flops() const {
    const double L = chunk, chunks = double(d.T) / L;
    return d.H * chunks * (L * L * d.N + L * L * d.P + 4 * L * d.P * d.N);
  }
};

void BM_SsdReferenceForward(benchmark::State& st) {
  SsdSetup s(st);
  for (auto _ : st)
    s0::ops::cpu::ssd_reference(s.d, s.x.data(), s.dt.data(), s.A.data(), s.B.data(), s.C.data(), s.D.data(), s.s0.data(),
                           s.y.data(), s.s_final.data());
  report_gflops(st, s.forward_flops());
}

void BM_SsdChunkedForward(benchmark::State& st) {
  SsdSetup s(st);
  for (auto _ : st)
    s0::ops::cpu::ssd_chunked(s.d, s.x.data(), s.dt.data(), s.A.data(), s.B.data(), s.C.data(), s.D.data(), s.s0.data(),
                         s.y.data(), s.s_final.data(), s.chunk);
  report_gflops(st, s.forward_flops());
}

void BM_SsdChunkedBackward(benchmark::State& st) {
  SsdSetup s(st);
  for (auto _ : st)
    s0::ops::cpu::ssd_chunked_backward(s.d, s.x.data(), s.dt.data(), s.A.data(), s.B.data(), s.C.data(), s.D.data(),
                                  s.s0.data(), s.d_y.data(), nullptr, s.dx.data(), s.ddt.data(), s.dB.data(),
                                  s.dC.data(), s.dD.data(), s.ds0.data(), s.chunk);
}

// Production shapes with the default chunk of 64 (the reference ignores the chunk, and the flop
// count it reports is the chunked one at 64); the chunked forms also at chunks of 32 and 128.
void gdn_shapes(benchmark::internal::Benchmark* b) {
  b->Args({512, 16, 128, 64})->Args({2048, 16, 128, 64})->Unit(benchmark::kMillisecond)->UseRealTime();
}
void gdn_chunk_sizes(benchmark::internal::Benchmark* b) {
  gdn_shapes(b);
  b->Args({2048, 16, 128, 32})->Args({2048, 16, 128, 128});
}
void ssd_shapes(benchmark::internal::Benchmark* b) {
  b->Args({512, 24, 64, 1, 128, 64})->Args({2048, 64, 64, 8, 128, 64})->Unit(benchmark::kMillisecond)->UseRealTime();
}
void ssd_chunk_sizes(benchmark::internal::Benchmark* b) {
  ssd_shapes(b);
  b->Args({2048, 64, 64, 8, 128, 32})->Args({2048, 64, 64, 8, 128, 128});
}

BENCHMARK(BM_Gemm)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GdnReferenceForward)->Apply(gdn_shapes);
BENCHMARK(BM_GdnChunkedForward)->Apply(gdn_chunk_sizes);
BENCHMARK(BM_GdnChunkedBackward)->Apply(gdn_chunk_sizes);
BENCHMARK(BM_SsdReferenceForward)->Apply(ssd_shapes);
BENCHMARK(BM_SsdChunkedForward)->Apply(ssd_chunk_sizes);
BENCHMARK(BM_SsdChunkedBackward)->Apply(ssd_chunk_sizes);

}  // namespace

BENCHMARK_MAIN();
