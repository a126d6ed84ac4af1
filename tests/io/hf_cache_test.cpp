// Repo ids resolved offline from a hub cache laid out as huggingface_hub lays it out: refs/ names a
// commit, snapshots/<commit>/ holds links into blobs/.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"
#include "io/hf_cache.h"
#include "support/test_support.h"

using namespace s0;
using test::error_of;
namespace fs = std::filesystem;

namespace {

// Sets an environment variable for one test and puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    had_ = std::getenv(name) != nullptr;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// One repo with two commits: main points at the newer one, tag v1 at the older.
struct FakeHub {
  test::TempDir root;
  fs::path repo = root / "hub/models--Org--tiny-model.v2";
  FakeHub() {
    for (const char* commit : {"1111aaaa", "2222bbbb"}) {
      fs::create_directories(repo / "snapshots" / commit);
      fs::create_directories(repo / "blobs");
      test::write_text(repo / "blobs" / (std::string("blob-") + commit), std::string("{\"commit\": \"") + commit + "\"}");
      fs::create_symlink(fs::path("../../blobs") / (std::string("blob-") + commit),
                         repo / "snapshots" / commit / "config.json");
    }
    fs::create_directories(repo / "refs");
    test::write_text(repo / "refs/main", "2222bbbb");
    test::write_text(repo / "refs/v1", "1111aaaa\n");
  }
};

}  // namespace

TEST(HfCache, CacheFolderFromTheEnvironment) {
  ScopedEnv a("HF_HUB_CACHE", ""), b("HF_HOME", ""), c("XDG_CACHE_HOME", ""), h("HOME", "/home/u");
  EXPECT_EQ(hf_hub_cache_dir(), "/home/u/.cache/huggingface/hub");
  {
    ScopedEnv x("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(hf_hub_cache_dir(), "/xdg/huggingface/hub");
    ScopedEnv home("HF_HOME", "/hf");
    EXPECT_EQ(hf_hub_cache_dir(), "/hf/hub");
    ScopedEnv hub("HF_HUB_CACHE", "/hubcache");
    EXPECT_EQ(hf_hub_cache_dir(), "/hubcache");
  }
}

TEST(HfCache, RepoIdsResolveToTheirSnapshot) {
  FakeHub hub;
  ScopedEnv env("HF_HUB_CACHE", (hub.root / "hub").string());
  EXPECT_EQ(resolve_model_folder("Org/tiny-model.v2"), hub.repo / "snapshots/2222bbbb");
  EXPECT_EQ(resolve_model_folder("Org/tiny-model.v2@v1"), hub.repo / "snapshots/1111aaaa");
  EXPECT_EQ(resolve_model_folder("Org/tiny-model.v2@1111aaaa"), hub.repo / "snapshots/1111aaaa");
  // The snapshot's files are links into blobs/, read through as usual.
  EXPECT_EQ(test::read_text(resolve_model_folder("Org/tiny-model.v2") / "config.json"),
            "{\"commit\": \"2222bbbb\"}");
}

TEST(HfCache, AnExistingFolderWinsOverTheCache) {
  FakeHub hub;
  ScopedEnv env("HF_HUB_CACHE", (hub.root / "hub").string());
  test::TempDir cwd;
  fs::create_directories(cwd / "Org/tiny-model.v2");
  const fs::path before = fs::current_path();
  fs::current_path(cwd.path());
  const fs::path got = resolve_model_folder("Org/tiny-model.v2");
  fs::current_path(before);
  EXPECT_EQ(got, "Org/tiny-model.v2");
}

TEST(HfCache, MissingReposSayWhereTheyLooked) {
  FakeHub hub;
  const std::string cache = (hub.root / "hub").string();
  ScopedEnv env("HF_HUB_CACHE", cache);
  EXPECT_EQ(error_of([] { resolve_model_folder("Org/absent"); }),
            "Org/absent is neither a folder nor in the Hugging Face cache: no " + cache +
                "/models--Org--absent (set HF_HUB_CACHE or HF_HOME to the cache that holds it, or download it "
                "with `hf download Org/absent`)");
  EXPECT_EQ(error_of([] { resolve_model_folder("Org/tiny-model.v2@dev"); }),
            "Org/tiny-model.v2@dev: the Hugging Face cache has no snapshot for revision dev (looked for " +
                cache + "/models--Org--tiny-model.v2/refs/dev and " + cache +
                "/models--Org--tiny-model.v2/snapshots/dev) (set HF_HUB_CACHE or HF_HOME to the cache that holds "
                "it, or download it with `hf download Org/tiny-model.v2`)");
  for (const char* not_a_repo : {"no/such/dir", "plainname", "../Org/x", "Org/..", "Org/x@../../etc", "/abs/path"})
    EXPECT_EQ(error_of([&] { resolve_model_folder(not_a_repo); }),
              std::string(not_a_repo) +
                  ": no such folder (nor a Hugging Face repo id such as Qwen/Qwen3.5-4B)")
        << not_a_repo;
}
