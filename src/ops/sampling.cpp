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

// The device of a [rows, vocab] float32 logits tensor and its I64 [rows] tokens; the host's rows are
// sampled where they are.
Device logits_device(const char* op, const Tensor& logits, const Tensor& tokens) {
  const Device dev = device_of(op, {&logits, &tokens});
  if (logits.rank() != 2) fail("internal: ", op, " takes logits [rows, vocab], got ", shape_str(logits.shape()));
  if (tokens.dtype() != DType::I64 || tokens.shape() != Shape{logits.dim(0)})
    fail("internal: ", op, " writes I64 tokens [", logits.dim(0), "], got ", shape_str(tokens.shape()));
  if (dev.is_cpu()) fail("internal: ", op, " is for logits on a GPU; the host samples its rows with TokenSampler");
  return dev;
}

}  // namespace

void argmax_rows(const Tensor& logits, Tensor& tokens) {
  const Device dev = logits_device("argmax_rows", logits, tokens);
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::argmax_rows(cuda::f32(logits), logits.dim(0), logits.dim(1),
                             static_cast<int64_t*>(tokens.device_raw_mut()));
#endif
  no_backend("argmax_rows", dev);
}

void sample_rows(const Tensor& logits, const std::vector<SampleRequest>& requests, Tensor& tokens) {
  const Device dev = logits_device("sample_rows", logits, tokens);
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  if (vocab > kMaxSampledVocab) fail("internal: sampling from ", vocab, " tokens (at most ", kMaxSampledVocab, ")");
  for (const SampleRequest& r : requests)
    if (r.row < 0 || r.row >= rows || !(r.temperature > 0) || r.top_k < 1 || r.top_k > vocab ||
        !(r.top_p > 0 && r.top_p <= 1))
      fail("internal: sample_rows request for row ", r.row, " of ", rows, ", temperature ", r.temperature,
           ", top_k ", r.top_k, " of ", vocab, ", top_p ", r.top_p);
  if (requests.empty()) return;
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::sample_rows(cuda::f32(logits), vocab, requests, static_cast<int64_t*>(tokens.device_raw_mut()));
#endif
  no_backend("sample_rows", dev);
}

}  // namespace s0::ops
