// A kernel timeline for machines without Nsight Systems (the device machine has the CUDA toolkit's
// CUPTI but no nsys). The CUDA driver loads it into a process as that process initialises CUDA
// (CUDA_INJECTION64_PATH, the hook profilers use: unlike LD_PRELOAD it is not loaded into the
// shell or `timeout` around the program), and it records every kernel's GPU start and end (CUPTI's
// concurrent-kernel activity: kernels still overlap as they would untraced, programmatic dependent
// launches included) as CSV lines "start_ns,end_ns,stream,name" in the file named by
// S0_KERNEL_TRACE. bench/kernel_trace/summarize.py turns that into per-step kernel time, gaps and
// the top kernels. One command line:
//   CUDA_INJECTION64_PATH=$PWD/build/bench/kernel_trace/libs0_kernel_trace.so S0_KERNEL_TRACE=trace.csv
//   build/bench/decode_bench --device cuda --shape 4b --batches 1 --steps 32
#include <cupti.h>
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

// Small buffers, handed over as they fill: the records arrive while the program runs, not only at
// exit, when CUDA may already be torn down and a forced flush gets nothing.
constexpr size_t kBufferBytes = 256 << 10;
constexpr uint32_t kFlushMs = 20;

std::mutex file_mutex;
FILE* out = nullptr;

void fail(const char* what, CUptiResult r) {
  const char* message = nullptr;
  cuptiGetResultString(r, &message);
  std::fprintf(stderr, "kernel_trace: %s: %s\n", what, message ? message : "unknown CUPTI error");
  std::exit(2);
}

void check(CUptiResult r, const char* what) {
  if (r != CUPTI_SUCCESS) fail(what, r);
}

// A kernel's C++ name (CUPTI gives the mangled one); commas dropped, the CSV's separator.
std::string demangled(const char* mangled) {
  if (!mangled) return "?";
  int status = 0;
  char* plain = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && plain ? plain : mangled;
  std::free(plain);
  for (char& c : name)
    if (c == ',') c = ';';
  return name;
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = kBufferBytes;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  CUpti_Activity* activity = nullptr;
  std::lock_guard<std::mutex> lock(file_mutex);
  while (cuptiActivityGetNextRecord(buffer, valid, &activity) == CUPTI_SUCCESS) {
    if (activity->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || !out) continue;
    const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(activity);
    std::fprintf(out, "%llu,%llu,%u,%s\n", static_cast<unsigned long long>(k->start),
                 static_cast<unsigned long long>(k->end), k->streamId, demangled(k->name).c_str());
  }
  std::free(buffer);
}

// Written to PATH.tmp as records arrive, renamed to PATH at exit (an atexit handler registered as
// CUDA starts, so it runs before the CUDA runtime's own teardown).
std::string tmp_path;

void finish() {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(file_mutex);
  const char* path = std::getenv("S0_KERNEL_TRACE");
  if (std::fclose(out) != 0 || std::rename(tmp_path.c_str(), path) != 0)
    std::fprintf(stderr, "kernel_trace: cannot write %s\n", path);
  out = nullptr;
}

}  // namespace

// Called by the CUDA driver as it initialises (CUDA_INJECTION64_PATH). Returns 1: loaded.
extern "C" int InitializeInjection() {
  const char* path = std::getenv("S0_KERNEL_TRACE");
  if (!path) {
    std::fprintf(stderr, "kernel_trace: S0_KERNEL_TRACE is not set (the file to write the trace to)\n");
    std::exit(2);
  }
  tmp_path = std::string(path) + ".tmp";
  out = std::fopen(tmp_path.c_str(), "w");
  if (!out) {
    std::fprintf(stderr, "kernel_trace: cannot write %s\n", tmp_path.c_str());
    std::exit(2);
  }
  check(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed), "registering the buffers");
  check(cuptiActivityFlushPeriod(kFlushMs), "setting the flush period");
  check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "enabling kernel records");
  std::atexit(finish);
  return 1;
}
