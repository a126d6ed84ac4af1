#include "ops/sampling.h"

#include "core/error.h"
#include "ops/dispatch.h"
#include "ops/sampling_weight.h"
#if S0_HAVE_CUDA
#include "ops/cuda/sampling.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

namespace {

// The device of a [rows, vocab] float32 logits tensor; the host's rows are sampled where they are.
Device logits_device(const char* op, const Tensor& logits) {
  const Device dev = device_of(op, {&logits});
  if (logits.rank() != 2) fail("internal: ", op, " takes logits [rows, vocab], got ", shape_str(logits.shape()));
  if (dev.is_cpu()) fail("internal: ", op, " is for logits on a GPU; the host samples its rows with TokenSampler");
  return dev;
}

}  // namespace

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const Device dev = logits_device("argmax_rows", logits);
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) return cuda::argmax_rows(cuda::f32(logits), logits.dim(0), logits.dim(1));
#endif
  no_backend("argmax_rows", dev);
}

std::vector<int64_t> sample_rows(const Tensor& logits, const std::vector<SampleRequest>& requests) {
  const Device dev = logits_device("sample_rows", logits);
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  if (vocab > kMaxSampledVocab) fail("internal: sampling from ", vocab, " tokens (at most ", kMaxSampledVocab, ")");
  for (const SampleRequest& r : requests)
    if (r.row < 0 || r.row >= rows || !(r.temperature > 0) || r.top_k < 1 || r.top_k > vocab ||
        !(r.top_p > 0 && r.top_p <= 1))
      fail("internal: sample_rows request for row ", r.row, " of ", rows, ", temperature ", r.temperature,
           ", top_k ", r.top_k, " of ", vocab, ", top_p ", r.top_p);
  if (requests.empty()) return {};
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) return cuda::sample_rows(cuda::f32(logits), vocab, requests);
#endif
  no_backend("sample_rows", dev);
}

}  // namespace s0::ops
