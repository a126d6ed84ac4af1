#pragma once
// Large copies from pageable host memory to a GPU, through pinned staging buffers: the host's
// threads copy each slice of the source into one of two pinned buffers (page faults of a mapped
// checkpoint taken in parallel) while the copy engine moves the other slice to the device at the
// bus's speed. A plain cudaMemcpyAsync from pageable memory stages through the driver's own
// buffers, one host thread at a time: loading Qwen3.5-4B's 8.4 GB of weights took about 5 s.
#include <cstddef>

namespace s0::ops::cuda {

// Copies below this go straight to cudaMemcpyAsync.
constexpr size_t kStagedUploadMin = size_t{8} << 20;

// Copies `bytes` from host `src` (pageable) to device `dst` in stream order on the current GPU's
// stream; returns once every byte of src has been read, so the caller may free or change it.
void staged_upload(void* dst, const void* src, size_t bytes);

}  // namespace s0::ops::cuda
