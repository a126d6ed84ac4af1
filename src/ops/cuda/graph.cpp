#include "ops/cuda/graph.h"

#include <utility>
#include <vector>

#include "ops/cuda/check.h"
#include "ops/cuda/runtime.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

struct Graph {
  explicit Graph(int gpu) : device(gpu) {}
  // The executable graph is freed once a replay still running ends (cudaGraphExecDestroy); the
  // blocks and tables go back to the cache, whose next users queue after that replay.
  ~Graph() {
    if (exec) (void)cudaGraphExecDestroy(exec);
    release_recording_pool(pool, device);
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  cudaGraphExec_t exec = nullptr;
  int device;
  std::vector<Tensor> kept;                     // tables the kernels read
  std::vector<std::pair<void*, size_t>> pool;  // the temporaries' blocks
};

namespace {

thread_local Graph* t_recording = nullptr;

std::mutex& recording_mutex() {
  static std::mutex mu;
  return mu;
}

// Ends the stream's capture and the allocator's recording pool however the recorded work ends.
class Capture {
 public:
  explicit Capture(Graph& g) : g_(g), others_wait_(recording_mutex()) {
    begin_recording_pool(g.device);
    t_recording = &g;
    const cudaError_t begun = cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed);
    if (begun != cudaSuccess) finish();
    check(begun, "cudaStreamBeginCapture");
  }
  ~Capture() {  // the recorded work failed: its partial graph is dropped
    if (t_recording)
      if (cudaGraph_t partial = finish()) (void)cudaGraphDestroy(partial);
  }
  // The recorded graph (null when the capture failed; `status` says why).
  cudaGraph_t finish(cudaError_t* status = nullptr) {
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream(), &graph);
    if (status) *status = ended;
    t_recording = nullptr;
    g_.pool = end_recording_pool();
    return graph;
  }

 private:
  Graph& g_;
  std::lock_guard<std::mutex> others_wait_;  // outside_recordings()
};

}  // namespace

std::shared_ptr<Graph> record_graph(const std::function<void()>& work) {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  S0_CUDA_CHECK(cudaStreamSynchronize(stream()));
  auto g = std::make_shared<Graph>(device);
  cudaGraph_t graph = nullptr;
  cudaError_t status = cudaSuccess;
  {
    Capture capture(*g);
    work();
    graph = capture.finish(&status);
  }
  check(status, "cudaStreamEndCapture");
  const cudaError_t made = cudaGraphInstantiate(&g->exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  check(made, "cudaGraphInstantiate");
  return g;
}

void replay_graph(const Graph& graph) { S0_CUDA_CHECK(cudaGraphLaunch(graph.exec, stream())); }

bool recording_graph() { return t_recording != nullptr; }

std::unique_lock<std::mutex> outside_recordings() {
  if (t_recording) return {};
  return std::unique_lock<std::mutex>(recording_mutex());
}

void keep_for_replays(const Tensor& t) {
  if (t_recording) t_recording->kept.push_back(t);
}

}  // namespace s0::ops::cuda
