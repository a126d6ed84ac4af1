#pragma once
// A small tensor's copy to the host, queued in stream order now and read later: the host goes on
// queuing work while it travels. A decode step's chosen tokens go this way (generate/next_tokens.h):
// the host queues the next step, which reads them where they are, before it reads them itself, so
// the GPU does not wait for the host between steps. On the CPU the copy is made at once.
#include <memory>

#include "core/tensor.h"

namespace s0::ops {

namespace cuda {
struct PendingHostCopy;
}

class HostCopy {
 public:
  HostCopy() = default;
  // Starts copying `t` to the host; `t` may be dropped at once (the copy is queued before any work
  // that could reuse its memory).
  explicit HostCopy(const Tensor& t);

  // The copy on the host: the first call waits for it (and so for the work queued before it).
  const Tensor& get();

 private:
  Tensor host_;
  std::shared_ptr<cuda::PendingHostCopy> pending_;
};

}  // namespace s0::ops
