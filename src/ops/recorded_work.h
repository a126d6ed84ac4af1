#pragma once
// GPU work recorded once and replayed (a CUDA graph): one launch where the work's own host code
// queued each kernel, and the GPU runs the kernels back to back. A replay repeats the recorded
// kernels exactly: the same buffers, sizes and small tables. So the caller replays only work whose
// inputs and outputs sit where they sat at recording, holding the same kind of values (the
// recurrent blocks of a decode step over an unchanged batch, model/decode_graphs.h); the recording
// keeps its temporaries' memory and the tables it uploaded for as long as it lives.
#include <functional>
#include <memory>

#include "core/device.h"

namespace s0::ops {

namespace cuda {
struct Graph;
}

class RecordedWork {
 public:
  // Whether work on `device` can be recorded: a GPU, in a build with CUDA.
  static bool possible(Device device);
  // Records what `work` queues on `device`'s stream, without running it. `work` may allocate and
  // free tensors (its temporaries' memory stays the recording's); the ones it leaves behind are not
  // the recording's, and every tensor made before that it reads or writes must outlive the
  // recording, since every replay touches them again. Fails where !possible(device).
  RecordedWork(Device device, const std::function<void()>& work);
  // Queues the recorded work on the device's stream again.
  void replay() const;

 private:
  std::shared_ptr<cuda::Graph> graph_;
};

}  // namespace s0::ops
