// BackgroundWrites: jobs run one at a time in the order started, off the caller's thread; a job's
// error comes back from the next start() or wait(); destruction waits for the running job.
#include "io/background_writes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"

using namespace s0;

TEST(BackgroundWrites, JobsRunOneAtATimeInOrderOffTheCallersThread) {
  std::vector<int> order;
  std::atomic<int> running{0};
  bool overlapped = false, on_caller = false;
  const std::thread::id caller = std::this_thread::get_id();
  {
    BackgroundWrites writes;
    for (int i = 0; i < 5; ++i)
      writes.start([&, i] {
        if (running.fetch_add(1) != 0) overlapped = true;
        if (std::this_thread::get_id() == caller) on_caller = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        order.push_back(i);
        running.fetch_sub(1);
      });
    writes.wait();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    writes.start([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      order.push_back(5);
    });
  }  // destruction waits for the last job
  EXPECT_EQ(order.size(), 6u);
  EXPECT_FALSE(overlapped);
  EXPECT_FALSE(on_caller);
}

TEST(BackgroundWrites, AJobsErrorComesBackOnce) {
  BackgroundWrites writes;
  writes.start([] { fail("disk full"); });
  EXPECT_THROW(
      try { writes.wait(); } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "disk full");
        throw;
      },
      Error);
  EXPECT_NO_THROW(writes.wait());  // reported once

  bool ran = false;
  writes.start([] { throw std::runtime_error("no space"); });
  EXPECT_THROW(writes.start([&] { ran = true; }), std::runtime_error);  // the next start reports it
  writes.wait();
  EXPECT_FALSE(ran);  // a start that reported an error did not start its job
}
