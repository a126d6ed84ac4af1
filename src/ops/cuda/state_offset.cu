#include "ops/cuda/state_offset.h"

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

Dims dims_of(const Tensor& read, const Tensor& out, OffsetLayout layout) {
  return {read.dim(1), out.dim(1), read.dim(2), out.dim(2), layout == OffsetLayout::KeyFirst};
}

// Each sequence's offset address (0 = none), for the kernels to pick by the row's sequence.
Tensor offset_table(const std::vector<SequenceStart>& starts, Device device) {
  std::vector<const float*> addresses;
  for (const SequenceStart& s : starts) addresses.push_back(f32(s.offset));
  return upload_addresses(addresses, device);
}

const int64_t* table(const Tensor& t) { return static_cast<const int64_t*>(t.device_raw()); }

}  // namespace

void state_offset_forward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                          OffsetLayout layout, Tensor& out) {
  const Device device = read.device();
  const Dims d = dims_of(read, out, layout);
  const Tensor offsets = upload_i64(seqs.offsets, device), offset_of = offset_table(starts, device);
  const int64_t* offs = table(offsets);
  const int64_t* Ds = table(offset_of);
  const int64_t n_seqs = seqs.n_seqs();
  const float* rp = f32(read);
  float* op = f32_mut(out);
  // One thread per (row, h, v): the read-out summed on its own over k in order, then added, as
  // the CPU does (o = S^T q + (D^T q)).
  for_each_cell(
      seqs.rows(), d.H * d.V,
      [=] __device__(int64_t row, int64_t c) {
        const float* D = reinterpret_cast<const float*>(Ds[sequence_of(row, offs, n_seqs)]);
        if (!D) return;
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
  const Device device = read.device();
  const Dims d = dims_of(read, d_out, layout);
  const Tensor offsets = upload_i64(seqs.offsets, device), offset_of = offset_table(starts, device);
  const int64_t* offs = table(offsets);
  const int64_t* Ds = table(offset_of);
  const int64_t n_seqs = seqs.n_seqs();
  const float *rp = f32(read), *gp = f32(d_out);
  float* drp = f32_mut(d_read);
  // The read gradient, one thread per (row, read head g, k): each head h of the group in order
  // adds its sum over v, as the CPU does.
  for_each_cell(
      seqs.rows(), d.Hr * d.K,
      [=] __device__(int64_t row, int64_t c) {
        const float* D = reinterpret_cast<const float*>(Ds[sequence_of(row, offs, n_seqs)]);
        if (!D) return;
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
  std::vector<const float*> grads(d_offsets->size(), nullptr);
  for (size_t s = 0; s < starts.size(); ++s)
    if (!starts[s].offset.empty()) grads[s] = f32((*d_offsets)[s]);
  const Tensor grad_of = upload_addresses(grads, device);
  const int64_t* dDs = table(grad_of);
  for_each_cell(
      n_seqs, d.H * d.K * d.V,
      [=] __device__(int64_t s, int64_t e) {
        float* dD = reinterpret_cast<float*>(dDs[s]);
        if (!dD) return;
        const int64_t inner = d.key_first ? d.V : d.K, middle = d.key_first ? d.K : d.V;
        const int64_t h = e / (d.K * d.V), m = e / inner % middle, i = e % inner;
        const int64_t k = d.key_first ? m : i, v = d.key_first ? i : m;
        const float* r = rp + (h / d.group_size()) * d.K + k;
        const float* go = gp + h * d.V + v;
        float acc = 0.0f;
        for (int64_t t = offs[s]; t < offs[s + 1]; ++t) acc += r[t * d.Hr * d.K] * go[t * d.H * d.V];
        dD[e] = acc;
      },
      "state_offset_backward (offset)");
}

}  // namespace s0::ops::cuda
