#pragma once
// CUDA graphs: the work a function queues on the current GPU's stream (ops/cuda/stream.h), recorded
// once and replayed as one launch. A replay runs exactly the recorded kernels with their recorded
// arguments: the same addresses, sizes and small tables every time. So a graph keeps alive what
// its kernels read that the caller does not own (the tables uploaded while recording), and keeps
// the blocks its temporaries took for itself (ops/cuda/runtime.h's recording pool). Plain C++
// declarations, for the dispatch side.
#include <functional>
#include <memory>
#include <mutex>

#include "core/tensor.h"

namespace s0::ops::cuda {

struct Graph;

// Records `work` on the current GPU without running it; waits first for the work queued before
// (the blocks the recording takes from the cache must not still be read by it).
std::shared_ptr<Graph> record_graph(const std::function<void()>& work);
// Queues the recorded work on the stream.
void replay_graph(const Graph& graph);

// Whether this thread is recording a graph now: an upload then happens at once, outside the
// recording (a table's contents are the same at every replay), and the table is kept with the graph.
bool recording_graph();
void keep_for_replays(const Tensor& t);

// The stream's other users wait while another thread records: work they queued then would join the
// recording instead of running (an adapter uploaded by an HTTP handler while the engine thread
// records a decode step's graph). The caching allocator's copies and fills take this lock (held
// until it goes; nothing is held on the recording thread itself). Kernels are launched by one
// thread at a time already (a generation engine's).
std::unique_lock<std::mutex> outside_recordings();

}  // namespace s0::ops::cuda
