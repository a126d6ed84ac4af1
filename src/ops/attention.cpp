#include "ops/attention.h"

#include <algorithm>
#include <cstring>

#include "core/allocator.h"
#include "ops/bf16_cast.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/copy.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/rope.h"
#if S0_HAVE_CUDA
#include "ops/cuda/attention.h"
#include "ops/cuda/qk_norm_rope.h"
#endif
#include "ops/dispatch.h"

namespace s0::ops {

namespace {

// Makes room for n rows of `cols` elements (of `dtype`) after the first `length` rows of buf: the
// `reserve` rows the sequence will reach when they suffice, else twice the capacity (the rows
// kept are copied over). Each growth is an allocation and a copy in the middle of a step; with
// doubling, a batch of 256 HumanEval samples (prompts of about 150 tokens, 512 new ones) grew
// every attention cache three times, and the GPU waited 0.58 ms a decode step on average for them
// (H200, kernel trace of `s0 generate`).
void reserve_rows(Tensor& buf, int64_t length, int64_t n, int64_t reserve, int64_t cols, DType dtype,
                  Device device) {
  const int64_t capacity = buf.empty() ? 0 : buf.dim(0);
  if (length + n <= capacity) return;
  const int64_t rows = length + n <= reserve ? reserve : std::max(2 * capacity, length + n);
  Tensor grown = Tensor::empty({rows, cols}, dtype, device);
  if (length > 0)
    copy_bytes(grown.device_raw_mut(), device, buf.device_raw(), device,
               static_cast<size_t>(length * cols) * dtype_size(dtype));
  buf = grown;
}

bool any_bf16(const std::vector<KvCache*>& caches) {
  for (const KvCache* c : caches)
    if (c->dtype == DType::BF16) return true;
  return false;
}

// A GPU decode step (one row a sequence) over bf16 caches: its kernels read and write them as they are.
bool bf16_decode_step(Device d, const Varlen& seqs, const std::vector<KvCache*>& caches) {
  if (d.is_cpu()) return false;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    if (seqs.length(s) != 1 || caches[static_cast<size_t>(s)]->dtype != DType::BF16) return false;
  return true;
}

// Rows [begin, begin + n) of a float32 cache buffer rounded into the same rows of a bf16 one.
void round_rows(const Tensor& wide, Tensor& narrow, int64_t begin, int64_t n) {
  Tensor rows = narrow.slice(begin, n);
  round_into(wide.slice(begin, n), rows);
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Varlen& seqs,
                       const std::vector<KvCache*>& caches, Tensor& out, Tensor& lse, ProductPrecision products) {
  const Device d = device_of("attention", {&q, &k, &v, &out, &lse});
  const int64_t H = q.dim(1), Hkv = k.dim(1), D = q.dim(2), q_cols = H * D, kv_cols = Hkv * D;
  if (!caches.empty() && (k.dtype() != DType::F32 || v.dtype() != DType::F32))
    fail("internal: attention appends f32 keys and values to its caches, got ", dtype_name(k.dtype()), " and ",
         dtype_name(v.dtype()));
  if (any_bf16(caches) && !bf16_decode_step(d, seqs, caches)) {
    // Over float32 copies of the bf16 caches, with this call's keys and values rounded as the
    // caches will hold them; the new rows then go back rounded (exactly: they are bf16 values).
    std::vector<KvCache> wide(caches.size());
    std::vector<KvCache*> wide_caches;
    for (size_t s = 0; s < caches.size(); ++s) {
      const KvCache& c = *caches[s];
      if (c.dtype != DType::BF16) {
        wide_caches.push_back(caches[s]);
        continue;
      }
      wide[s].length = c.length;
      if (c.length > 0) {
        wide[s].k = widened_from_bf16(c.k.slice(0, c.length));
        wide[s].v = widened_from_bf16(c.v.slice(0, c.length));
      }
      wide_caches.push_back(&wide[s]);
    }
    attention_forward(q, widened_from_bf16(rounded_to_bf16(k)), widened_from_bf16(rounded_to_bf16(v)), scale, seqs,
                      wide_caches, out, lse, products);
    for (size_t s = 0; s < caches.size(); ++s) {
      KvCache& c = *caches[s];
      if (c.dtype != DType::BF16) continue;
      const int64_t T = wide[s].length - c.length;
      reserve_rows(c.k, c.length, T, c.reserve, kv_cols, DType::BF16, d);
      reserve_rows(c.v, c.length, T, c.reserve, kv_cols, DType::BF16, d);
      round_rows(wide[s].k, c.k, c.length, T);
      round_rows(wide[s].v, c.v, c.length, T);
      c.length = wide[s].length;
    }
    return;
  }
  // Each sequence first appends its keys and values to its cache, then attends over all of it. Room
  // is made here; the CPU copies the rows here, the GPU in one kernel for every sequence.
  for (size_t s = 0; s < caches.size(); ++s) {
    KvCache& c = *caches[s];
    const int64_t b = seqs.begin(static_cast<int64_t>(s)), T = seqs.length(static_cast<int64_t>(s));
    reserve_rows(c.k, c.length, T, c.reserve, kv_cols, c.dtype, d);
    reserve_rows(c.v, c.length, T, c.reserve, kv_cols, c.dtype, d);
    if (d.is_cpu()) {
      const size_t bytes = static_cast<size_t>(T * kv_cols) * sizeof(float);
      std::memcpy(c.k.f32_mut() + c.length * kv_cols, k.f32() + b * kv_cols, bytes);
      std::memcpy(c.v.f32_mut() + c.length * kv_cols, v.f32() + b * kv_cols, bytes);
    }
    c.length += T;
  }
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::attention_forward(q, k, v, scale, seqs, caches, out, lse, products);
#endif
  if (!d.is_cpu()) no_backend("attention", d);
  (void)products;  // the CPU computes in float32
  if (caches.empty())
    return cpu::attention_forward_batch(q.f32(), k.f32(), v.f32(), seqs.offsets, H, Hkv, D, scale, out.f32_mut(),
                                        lse.f32_mut());
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s), T = seqs.length(s);
    const KvCache* c = caches.empty() ? nullptr : caches[static_cast<size_t>(s)];
    const float* ks = c ? c->k.f32() : k.f32() + b * kv_cols;
    const float* vs = c ? c->v.f32() : v.f32() + b * kv_cols;
    cpu::attention_forward_past(q.f32() + b * q_cols, ks, vs, T, c ? c->length - T : 0, H, Hkv, D, scale,
                                out.f32_mut() + b * q_cols, lse.f32_mut() + H * b);
  }
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, float scale, const Varlen& seqs, Tensor& dq, Tensor& dk, Tensor& dv,
                        ProductPrecision products) {
  const Device d = device_of("attention_backward", {&q, &k, &v, &out, &lse, &dout, &dq, &dk, &dv});
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::attention_backward(q, k, v, out, lse, dout, scale, seqs, dq, dk, dv, products);
#endif
  if (!d.is_cpu()) no_backend("attention_backward", d);
  (void)products;  // the CPU computes in float32
  cpu::attention_backward_batch(q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), dout.f32(), seqs.offsets, q.dim(1),
                                k.dim(1), q.dim(2), scale, dq.f32_mut(), dk.f32_mut(), dv.f32_mut());
}

void rope_forward(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta) {
  const Device d = device_of("rope", {&x});
  if (d.is_cpu())
    return cpu::rope_forward(x.f32_mut(), positions.data(), x.dim(0), x.dim(1), x.dim(2), rot_dim, theta);
#if S0_HAVE_CUDA
  return cuda::rope_forward(x, positions, rot_dim, theta);
#endif
  no_backend("rope", d);
}

void rope_backward(Tensor& dx, const std::vector<int64_t>& positions, int64_t rot_dim, double theta) {
  const Device d = device_of("rope_backward", {&dx});
  if (d.is_cpu())
    return cpu::rope_backward(dx.f32_mut(), positions.data(), dx.dim(0), dx.dim(1), dx.dim(2), rot_dim, theta);
#if S0_HAVE_CUDA
  return cuda::rope_backward(dx, positions, rot_dim, theta);
#endif
  no_backend("rope_backward", d);
}

void qk_norm_rope_forward(const Tensor& proj, int64_t q_begin, int64_t k_begin, const Tensor& q_norm,
                          const Tensor& k_norm, float eps, const std::vector<int64_t>& positions, int64_t rot_dim,
                          double theta, Tensor& q, Tensor& k, Tensor& q_rstd, Tensor& k_rstd) {
  const Device d = device_of("qk_norm_rope", {&proj, &q, &k});
#if S0_HAVE_CUDA
  if (!d.is_cpu())
    return cuda::qk_norm_rope_forward(proj, q_begin, k_begin, q_norm, k_norm, eps, positions, rot_dim, theta, q, k,
                                      q_rstd, k_rstd);
#endif
  if (!d.is_cpu()) no_backend("qk_norm_rope", d);
  const int64_t N = proj.dim(0), D = q.dim(2);
  if (N == 0) return;
  const int64_t stride = proj.numel() / N;
  auto side = [&](int64_t begin, const Tensor& norm, Tensor& x, Tensor& rstd) {
    const int64_t heads = x.dim(1);
    cpu::copy_cols(proj.f32(), N, stride, begin, heads * D, x.f32_mut());
    if (!norm.empty()) cpu::rmsnorm_forward(x.f32(), norm.f32(), N * heads, D, eps, x.f32_mut(), rstd.f32_mut());
    cpu::rope_forward(x.f32_mut(), positions.data(), N, heads, D, rot_dim, theta);
  };
  side(q_begin, q_norm, q, q_rstd);
  side(k_begin, k_norm, k, k_rstd);
}

}  // namespace s0::ops
