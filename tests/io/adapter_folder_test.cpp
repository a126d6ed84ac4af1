// Writing adapter folders: a trailing slash names the same folder, a reader never sees a missing
// file or a mix of two adapters while a writer replaces it, a writer killed at any moment leaves
// the folder whole and nothing behind after the next write, and only adapter folders are replaced.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <thread>

#include "core/error.h"
#include "io/adapter_file.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

// Version v of an adapter: alpha v, layers 0..v-1, every state value v, so that any mix of two
// versions' files is visible in what is read.
AdapterFile version(int v) {
  AdapterFile a;
  a.arch = "mamba2";
  a.state_shape = {16, 32, 64};  // 128 KiB per state: writing takes long enough to be killed mid-way
  a.config.alpha = v;
  for (int layer = 0; layer < v; ++layer) {
    a.layers.push_back(layer);
    Tensor t = Tensor::zeros(a.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = static_cast<float>(v);
    a.states[layer] = t;
  }
  return a;
}

// The version a folder holds, or a description of what is wrong with it.
std::string read_version(const fs::path& dir) {
  AdapterFile a;
  try {
    a = read_adapter(dir);
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  }
  const int v = static_cast<int>(a.config.alpha.value_or(-1));
  bool same = static_cast<int>(a.layers.size()) == v;
  for (const auto& [layer, t] : a.states)
    for (int64_t i = 0; i < t.numel(); i += 997) same = same && t.f32()[i] == static_cast<float>(v);
  return same ? std::to_string(v) : "a mix (alpha " + std::to_string(v) + ", " + std::to_string(a.layers.size()) + " layers)";
}

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

const std::set<std::string> kAdapterFiles = {"config.json", "meta.json", "states.safetensors"};

}  // namespace

TEST(AdapterFolder, TrailingSlashNamesTheSameFolder) {
  test::TempDir dir;
  const std::string ads = (dir / "ads").string();
  write_adapter(ads + "/", version(1), false);
  EXPECT_EQ(read_version(ads), "1");
  write_adapter(ads + "//", version(2), true);
  EXPECT_EQ(read_version(ads), "2");
  write_adapter(ads + "/.", version(3), true);
  EXPECT_EQ(read_version(ads), "3");
  EXPECT_EQ(entries(dir.path()), std::set<std::string>{"ads"});
  EXPECT_EQ(entries(ads), kAdapterFiles);
}

TEST(AdapterFolder, ReaderSeesOneWholeAdapterWhileItIsReplaced) {
  test::TempDir dir;
  const fs::path ads = dir / "ads";
  write_adapter(ads, version(1), false);
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::string writer_error;
  std::thread writer([&] {
    try {
      for (int i = 0; !stop; ++i, ++writes) write_adapter(ads, version(1 + i % 2), true);
    } catch (const Error& e) {
      writer_error = e.what();
    }
  });
  std::map<std::string, int> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int reads = 0; (reads < 200 || writes < 20) && std::chrono::steady_clock::now() < deadline; ++reads)
    ++seen[read_version(ads)];
  stop = true;
  writer.join();
  EXPECT_EQ(writer_error, "");
  for (const auto& [what, n] : seen) EXPECT_TRUE(what == "1" || what == "2") << n << " reads saw " << what;
  EXPECT_GT(seen["1"], 0);
  EXPECT_GT(seen["2"], 0);
  std::printf("[ reads  ] %d reads of version 1, %d of version 2, across %d replacements\n", seen["1"], seen["2"],
              writes.load());
}

TEST(AdapterFolder, KilledWriterLeavesItWholeAndTheNextWriteCleansUp) {
  test::TempDir dir;
  const fs::path ads = dir / "ads";
  write_adapter(ads, version(1), false);
  const AdapterFile one = version(1), two = version(2);
  std::mt19937 rng(7);
  int left_something = 0;
  for (int kill = 0; kill < 20; ++kill) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        for (int i = 0;; ++i) write_adapter(ads, i % 2 ? one : two, true);
      } catch (...) {
        _exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 30000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed instead of being killed";
    const std::string v = read_version(ads);
    EXPECT_TRUE(v == "1" || v == "2") << "after kill " << kill << ": " << v;
    if (entries(ads) != kAdapterFiles || entries(dir.path()) != std::set<std::string>{"ads"}) ++left_something;
  }
  std::printf("[ kills  ] %d of 20 kills left temporary files behind\n", left_something);
  write_adapter(ads, version(2), true);
  EXPECT_EQ(read_version(ads), "2");
  EXPECT_EQ(entries(ads), kAdapterFiles);
  EXPECT_EQ(entries(dir.path()), std::set<std::string>{"ads"});
}

TEST(AdapterFolder, ForceReplacesOnlyAnAdapterFolder) {
  test::TempDir dir;
  auto error_of = [](const fs::path& d, bool overwrite) {
    try {
      write_adapter(d, version(1), overwrite);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // A folder holding anything else is never replaced, and is left as it was.
  fs::create_directories(dir / "model");
  test::write_text(dir / "model" / "config.json", "{}");
  test::write_text(dir / "model" / "model.safetensors", "weights");
  EXPECT_EQ(error_of(dir / "model", true),
            (dir / "model").string() + ": is not an adapter folder (it holds \"model.safetensors\"); refusing to replace it");
  EXPECT_EQ(test::read_text(dir / "model" / "config.json"), "{}");
  EXPECT_EQ(test::read_text(dir / "model" / "model.safetensors"), "weights");
  // Nor is a file.
  test::write_text(dir / "data.jsonl", "{}\n");
  EXPECT_EQ(error_of(dir / "data.jsonl", true), (dir / "data.jsonl").string() + ": is not an adapter folder; refusing to replace it");
  EXPECT_EQ(test::read_text(dir / "data.jsonl"), "{}\n");
  // An adapter folder only with overwrite; an empty folder is simply filled.
  EXPECT_EQ(error_of(dir / "ads", false), "");
  EXPECT_EQ(error_of(dir / "ads", false), (dir / "ads").string() + ": already exists (pass --force to replace it)");
  EXPECT_EQ(error_of(dir / "ads", true), "");
  fs::create_directories(dir / "empty");
  EXPECT_EQ(error_of(dir / "empty", false), "");
  EXPECT_EQ(entries(dir / "empty"), kAdapterFiles);
}
