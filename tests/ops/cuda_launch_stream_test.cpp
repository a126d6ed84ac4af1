// Every CUDA kernel launch names the GPU's stream (ops/cuda/stream.h). A launch without one goes to
// the legacy default stream, which a non-blocking stream is not ordered with: its kernel may read
// inputs not yet written and its outputs may be copied back before they exist (the MoE router did
// this until this check). And every kernel launched as a programmatic dependent waits for the
// kernel before it. Source scans, so they run on every machine, GPU or not.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace {

// The CUDA backend's sources (.cu and .cuh), each file's name and text.
std::vector<std::pair<std::string, std::string>> cuda_sources() {
  const fs::path dir = fs::path(S0_SOURCE_DIR) / "src" / "ops" / "cuda";
  std::vector<std::pair<std::string, std::string>> files;
  if (!fs::is_directory(dir)) return files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".cu" && ext != ".cuh") continue;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    files.emplace_back(e.path().filename().string(), text.str());
  }
  return files;
}

}  // namespace

TEST(CudaLaunches, EveryKernelLaunchNamesTheStream) {
  const auto files = cuda_sources();
  ASSERT_FALSE(files.empty()) << "no CUDA sources under " << S0_SOURCE_DIR;
  const std::regex launch(R"(<<<([^;]*?)>>>)");
  int launches = 0;
  for (const auto& [name, source] : files) {
    for (std::sregex_iterator it(source.begin(), source.end(), launch), end; it != end; ++it) {
      ++launches;
      EXPECT_NE((*it)[1].str().find("stream()"), std::string::npos)
          << name << ": a launch without the stream: <<<" << (*it)[1].str() << ">>>";
    }
  }
  EXPECT_GT(launches, 10);  // the scan found the backend's launches
}

// A kernel launched as a programmatic dependent (ops/cuda/dependent_launch.cuh) may start while the
// kernel before it still runs: it must wait (wait_for_predecessors) before it reads what an earlier
// kernel wrote, and on every path, since the wait also keeps the stream's order for the kernels after
// it. A source scan: each kernel named in a launch_dependent call has a wait in its body.
TEST(CudaLaunches, EveryDependentKernelWaitsForItsPredecessors) {
  std::string sources;
  for (const auto& [name, source] : cuda_sources()) sources += source + "\n";
  ASSERT_FALSE(sources.empty()) << "no CUDA sources under " << S0_SOURCE_DIR;
  const std::regex launch(R"(launch_dependent\(\s*([A-Za-z_]\w*))");
  int launches = 0;
  for (std::sregex_iterator it(sources.begin(), sources.end(), launch), end; it != end; ++it) {
    const std::string kernel = (*it)[1].str();
    if (kernel == "void") continue;  // the launcher's own declaration
    ++launches;
    // The kernel's definition: `__global__ ... kernel(parameters) {`, then its body to the matching brace.
    const std::regex definition("__global__[^;{]*?\\b" + kernel + R"(\s*\([^{;]*\)\s*\{)");
    std::smatch found;
    ASSERT_TRUE(std::regex_search(sources, found, definition)) << "no definition of the kernel " << kernel;
    size_t at = static_cast<size_t>(found.position(0) + found.length(0)), depth = 1;
    const size_t body = at;
    while (at < sources.size() && depth > 0) {
      if (sources[at] == '{') ++depth;
      if (sources[at] == '}') --depth;
      ++at;
    }
    EXPECT_NE(sources.substr(body, at - body).find("wait_for_predecessors()"), std::string::npos)
        << kernel << " is launched as a dependent but never waits for the kernel before it";
  }
  EXPECT_GE(launches, 4);  // the scan found the dependent launches (GEMV, norms, elementwise)
}
