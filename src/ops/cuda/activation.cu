#include "ops/cuda/activation.h"

#include "ops/cuda/cells.cuh"
#include "ops/cuda/pointwise.cuh"
#include "ops/cuda/store.cuh"

namespace s0::ops::cuda {

namespace {

// h = silu(g) u, and its gradients to g and u.
__device__ inline float swiglu(float g, float u) { return silu(g) * u; }
__device__ inline float swiglu_dg(float g, float u, float d) { return d * u * silu_grad(g); }
__device__ inline float swiglu_du(float g, float d) { return d * silu(g); }

// Four columns a thread where the rows allow it (cells.cuh's quads_fit), each operand one load and
// the results one store, else one column (0.114 against 0.151 ms per MLP and batch of the 4B
// training step, H100).
template <typename TI, typename T>
void swiglu_forward_into(const TI* gu, int64_t n, int64_t inter, T* h) {
  if (quads_fit({gu, h}, {inter}))
    return for_each_cell(
        n, inter / 4,
        [=] __device__(int64_t i, int64_t q) {
          const float4 g = load4(gu + i * 2 * inter + 4 * q), u = load4(gu + i * 2 * inter + inter + 4 * q);
          store4(h + i * inter + 4 * q, {swiglu(g.x, u.x), swiglu(g.y, u.y), swiglu(g.z, u.z), swiglu(g.w, u.w)});
        },
        "swiglu_forward");
  for_each_cell(
      n, inter,
      [=] __device__(int64_t i, int64_t j) {
        const TI* g = gu + i * 2 * inter;
        store(h + i * inter + j, swiglu(load(g + j), load(g + inter + j)));
      },
      "swiglu_forward");
}

// Four columns a thread as above where the rows allow it, else one. (Four columns whose bf16
// results were stored two bytes at a time ran slower than one column a thread, 0.175 against 0.158
// ms per MLP and batch of the 4B training step, H100; with one store per operand and bf16 inputs,
// SwiGLU's backward went from 24.3 to 11.7 ms a step, H200.)
template <typename TI, typename TD, typename T>
void swiglu_backward_into(const TI* gu, const TD* dh, int64_t n, int64_t inter, T* dgu) {
  if (quads_fit({gu, dh, dgu}, {inter}))
    return for_each_cell(
        n, inter / 4,
        [=] __device__(int64_t i, int64_t q) {
          const int64_t at = i * 2 * inter + 4 * q;
          const float4 g = load4(gu + at), u = load4(gu + at + inter), d = load4(dh + i * inter + 4 * q);
          store4(dgu + at, {swiglu_dg(g.x, u.x, d.x), swiglu_dg(g.y, u.y, d.y), swiglu_dg(g.z, u.z, d.z),
                            swiglu_dg(g.w, u.w, d.w)});
          store4(dgu + at + inter, {swiglu_du(g.x, d.x), swiglu_du(g.y, d.y), swiglu_du(g.z, d.z), swiglu_du(g.w, d.w)});
        },
        "swiglu_backward");
  for_each_cell(
      n, inter,
      [=] __device__(int64_t i, int64_t j) {
        const TI* g = gu + i * 2 * inter;
        const float d = load(dh + i * inter + j), gj = load(g + j), uj = load(g + inter + j);
        store(dgu + i * 2 * inter + j, swiglu_dg(gj, uj, d));
        store(dgu + i * 2 * inter + inter + j, swiglu_du(gj, d));
      },
      "swiglu_backward");
}

template <typename T>
void relu2_forward_into(const float* u, int64_t count, T* h) {
  for_each_cell(
      1, count, [=] __device__(int64_t, int64_t i) { store(h + i, u[i] > 0.0f ? u[i] * u[i] : 0.0f); },
      "relu2_forward");
}

template <typename T>
void relu2_backward_into(const float* u, const float* dh, int64_t count, T* du) {
  for_each_cell(
      1, count, [=] __device__(int64_t, int64_t i) { store(du + i, u[i] > 0.0f ? 2.0f * u[i] * dh[i] : 0.0f); },
      "relu2_backward");
}

template <typename T>
void sigmoid_gate_forward_into(const float* o, const float* gate, int64_t ld, int64_t N, int64_t d, T* out) {
  for_each_cell(
      N, d, [=] __device__(int64_t i, int64_t j) { store(out + i * d + j, o[i * d + j] * sigmoid(gate[i * ld + j])); },
      "sigmoid_gate_forward");
}

}  // namespace

void swiglu_forward(Input gu, int64_t n, int64_t inter, Output h) {
  with_input(gu, [&](auto* g) { with_output(h, [&](auto* p) { swiglu_forward_into(g, n, inter, p); }); });
}

void swiglu_backward(Input gu, Input dh, int64_t n, int64_t inter, Output dgu) {
  with_input(gu, [&](auto* g) {
    with_input(dh, [&](auto* d) { with_output(dgu, [&](auto* p) { swiglu_backward_into(g, d, n, inter, p); }); });
  });
}

void relu2_forward(const float* u, int64_t count, Output h) {
  with_output(h, [&](auto* p) { relu2_forward_into(u, count, p); });
}

void relu2_backward(const float* u, const float* dh, int64_t count, Output du) {
  with_output(du, [&](auto* p) { relu2_backward_into(u, dh, count, p); });
}

void sigmoid_gate_forward(const float* o, const float* gate, int64_t ld, int64_t N, int64_t d, Output out) {
  with_output(out, [&](auto* p) { sigmoid_gate_forward_into(o, gate, ld, N, d, p); });
}

void sigmoid_gate_backward(const float* o, const float* gate, int64_t ld, const float* dout, int64_t N, int64_t d,
                           float* dgate, float* d_o) {
  for_each_cell(
      N, d,
      [=] __device__(int64_t i, int64_t j) {
        const float sg = sigmoid(gate[i * ld + j]);
        const float g = dout[i * d + j];  // read before d_o (which may be dout) is written
        dgate[i * ld + j] = g * o[i * d + j] * sg * (1.0f - sg);
        d_o[i * d + j] = g * sg;
      },
      "sigmoid_gate_backward");
}

}  // namespace s0::ops::cuda
