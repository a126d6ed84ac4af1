// Every CUDA kernel launch names the GPU's stream (ops/cuda/stream.h). A launch without one goes to
// the legacy default stream, which a non-blocking stream is not ordered with: its kernel may read
// inputs not yet written and its outputs may be copied back before they exist (the MoE router did
// this until this check). A source scan, so it runs on every machine, GPU or not.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

TEST(CudaLaunches, EveryKernelLaunchNamesTheStream) {
  const fs::path dir = fs::path(S0_SOURCE_DIR) / "src" / "ops" / "cuda";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  const std::regex launch(R"(<<<([^;]*?)>>>)");
  int launches = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".cu" && ext != ".cuh") continue;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), launch), end; it != end; ++it) {
      ++launches;
      EXPECT_NE((*it)[1].str().find("stream()"), std::string::npos)
          << e.path().filename().string() << ": a launch without the stream: <<<" << (*it)[1].str() << ">>>";
    }
  }
  EXPECT_GT(launches, 10);  // the scan found the backend's launches
}
