// One writer per output folder: a second lock on the same folder fails at once, naming the folder;
// releasing removes the lock file (and the folder, when the lock created it and it stayed empty).
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/output_lock.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

TEST(OutputLock, SecondLockFailsAtOnceAndReleaseCleansUp) {
  test::TempDir dir;
  const fs::path ads = dir / "ads";
  {
    const OutputLock first = OutputLock::acquire(ads);
    EXPECT_TRUE(fs::exists(ads / OutputLock::kFileName));
    try {
      OutputLock::acquire(ads.string() + "/");
      ADD_FAILURE() << "a second lock on the same folder was granted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), ads.string() + ": another s0 process (pid " + std::to_string(::getpid()) +
                                           ") is writing this folder; wait for it to finish or stop it");
    }
  }
  EXPECT_FALSE(fs::exists(ads)) << "the lock created the folder and nothing was written into it";
  fs::create_directories(ads);
  test::write_text(ads / "config.json", "{}");
  { const OutputLock again = OutputLock::acquire(ads); }
  EXPECT_TRUE(fs::exists(ads / "config.json"));
  EXPECT_FALSE(fs::exists(ads / OutputLock::kFileName));
}
