#include "ops/recorded_work.h"

#include "core/error.h"
#if S0_HAVE_CUDA
#include "ops/cuda/graph.h"
#endif

namespace s0::ops {

bool RecordedWork::possible(Device device) {
#if S0_HAVE_CUDA
  return device.type == DeviceType::CUDA;
#else
  (void)device;
  return false;
#endif
}

RecordedWork::RecordedWork(Device device, const std::function<void()>& work) {
  if (!possible(device)) fail("internal: work on ", device_name(device), " cannot be recorded");
#if S0_HAVE_CUDA
  graph_ = cuda::record_graph(work);
#else
  (void)work;
#endif
}

void RecordedWork::replay() const {
#if S0_HAVE_CUDA
  cuda::replay_graph(*graph_);
#endif
}

}  // namespace s0::ops
