#include "ops/cuda/state_offset.h"

#include <vector>

#include "ops/cuda/cells.cuh"
#include "ops/cuda/device_args.h"
#include "ops/cuda/sequence_of.cuh"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

// The shapes of a call (read [N, Hr, K], offsets [H, K, V] or [H, V, K], out [N, H, V]) and where
// D(h, k, v) lies in an offset of the call's layout.
struct Dims {
  int64_t Hr, H, K, V;
  bool key_first;

  __device__ int64_t at(int64_t h, int64_t k, int64_t v) const {
    return key_first ? (h * K + k) * V + v : (h * V + v) * K + k;
  }
  __device__ int64_t group_size() const { return H / Hr; }
};

// What the kernels of one call read: its dims, the sequences' row offsets and each sequence's
// offset address (0 = none), picked by the row's sequence.
struct Tables {
  Dims d;
  const int64_t* offs;
  const int64_t* offsets_of;
  int64_t n_seqs;

  // The offset `row`'s sequence reads out, or null.
  __device__ const float* offset_of(int64_t row) const {
    return reinterpret_cast<const float*>(offsets_of[sequence_of(row, offs, n_seqs)]);
  }
};

// Uploads the tables of a call (read [N, Hr, K], out or d_out [N, H, V]); `held` keeps them on the
// GPU until the call returns.
Tables upload_tables(const Tensor& read, const Tensor& out, OffsetLayout layout, const Varlen& seqs,
                     const std::vector<SequenceStart>& starts, std::vector<Tensor>& held) {
  // One upload: [offsets (n_seqs + 1) | the sequences' offset addresses (n_seqs)].
  std::vector<int64_t> values = seqs.offsets;
  for (const SequenceStart& s : starts) values.push_back(address_value(f32(s.offset)));
  const Tensor& table = held.emplace_back(upload_i64(values, read.device()));
  const auto* offs = static_cast<const int64_t*>(table.device_raw());
  return {{read.dim(1), out.dim(1), read.dim(2), out.dim(2), layout == OffsetLayout::KeyFirst}, offs,
          offs + seqs.offsets.size(), seqs.n_seqs()};
}

}  // namespace

void state_offset_forward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                          OffsetLayout layout, Tensor& out) {
  std::vector<Tensor> held;
  const Tables t = upload_tables(read, out, layout, seqs, starts, held);
  const float* rp = f32(read);
  float* op = f32_mut(out);
  // One thread per (row, h, v): the read-out summed on its own over k in order, then added, as
  // the CPU does (o = S^T q + (D^T q)).
  for_each_cell(
      seqs.rows(), t.d.H * t.d.V,
      [=] __device__(int64_t row, int64_t c) {
        const float* D = t.offset_of(row);
        if (!D) return;
        const Dims& d = t.d;
        const int64_t h = c / d.V, v = c % d.V;
        const float* r = rp + (row * d.Hr + h / d.group_size()) * d.K;
        float acc = 0.0f;
        for (int64_t k = 0; k < d.K; ++k) acc += r[k] * D[d.at(h, k, v)];
        op[row * d.H * d.V + c] += acc;
      },
      "state_offset_forward");
}

void state_offset_backward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                           OffsetLayout layout, const Tensor& d_out, Tensor& d_read,
                           const std::vector<Tensor>* d_offsets) {
  std::vector<Tensor> held;
  const Tables t = upload_tables(read, d_out, layout, seqs, starts, held);
  const float *rp = f32(read), *gp = f32(d_out);
  float* drp = f32_mut(d_read);
  // The read gradient, one thread per (row, read head g, k): each head h of the group in order
  // adds its sum over v, as the CPU does.
  for_each_cell(
      seqs.rows(), t.d.Hr * t.d.K,
      [=] __device__(int64_t row, int64_t c) {
        const float* D = t.offset_of(row);
        if (!D) return;
        const Dims& d = t.d;
        const int64_t g = c / d.K, k = c % d.K, rep = d.group_size();
        float total = drp[row * d.Hr * d.K + c];
        for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
          const float* go = gp + (row * d.H + h) * d.V;
          float acc = 0.0f;
          for (int64_t v = 0; v < d.V; ++v) acc += D[d.at(h, k, v)] * go[v];
          total += acc;
        }
        drp[row * d.Hr * d.K + c] = total;
      },
      "state_offset_backward (read)");
  if (!d_offsets) return;
  // The offset gradient, one thread per (sequence, element of its offset): its tokens in order.
  std::vector<int64_t> grads(d_offsets->size(), 0);
  for (size_t s = 0; s < starts.size(); ++s)
    if (!starts[s].offset.empty()) grads[s] = address_value(f32((*d_offsets)[s]));
  const Tensor grad_of = upload_i64(grads, read.device());
  const auto* dDs = static_cast<const int64_t*>(grad_of.device_raw());
  for_each_cell(
      t.n_seqs, t.d.H * t.d.K * t.d.V,
      [=] __device__(int64_t s, int64_t e) {
        float* dD = reinterpret_cast<float*>(dDs[s]);
        if (!dD) return;
        const Dims& d = t.d;
        const int64_t inner = d.key_first ? d.V : d.K, middle = d.key_first ? d.K : d.V;
        const int64_t h = e / (d.K * d.V), m = e / inner % middle, i = e % inner;
        const int64_t k = d.key_first ? m : i, v = d.key_first ? i : m;
        const float* r = rp + (h / d.group_size()) * d.K + k;
        const float* go = gp + h * d.V + v;
        float acc = 0.0f;
        for (int64_t row = t.offs[s]; row < t.offs[s + 1]; ++row) acc += r[row * d.Hr * d.K] * go[row * d.H * d.V];
        dD[e] = acc;
      },
      "state_offset_backward (offset)");
}

}  // namespace s0::ops::cuda
