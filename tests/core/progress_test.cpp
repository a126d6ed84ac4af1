// Progress output: a redrawn bar on a terminal (a real pseudo-terminal, so isatty decides), plain
// lines every interval on a pipe, nothing with quiet. A fake clock drives time: no test sleeps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/progress.h"

using namespace s0;

namespace {

// Everything written so far to the reading end (non-blocking).
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

struct FakeClock {
  double t = 100;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    r = fds[0];
    w = fds[1];
    fcntl(r, F_SETFL, O_NONBLOCK);
  }
  ~Pipe() {
    close(r);
    close(w);
  }
};

// A progress writing into a pipe (not a terminal) with a fake clock.
struct ProgressOnPipe : ::testing::Test {
  Pipe pipe;
  FakeClock clock;
  ProgressOptions options() {
    ProgressOptions o;
    o.fd = pipe.w;
    o.clock = clock.fn();
    return o;
  }
};

}  // namespace

TEST(Progress, ClockTextReadsLikeAClock) {
  EXPECT_EQ(clock_text(0), "0:00");
  EXPECT_EQ(clock_text(7.4), "0:07");
  EXPECT_EQ(clock_text(205), "3:25");
  EXPECT_EQ(clock_text(3723), "1:02:03");
}

TEST(Progress, TerminalRedrawsOneLineWithRateAndEta) {
  int master = -1, slave = -1;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios raw{};
  tcgetattr(slave, &raw);
  cfmakeraw(&raw);  // no "\n" -> "\r\n" translation: the test sees exactly what was written
  tcsetattr(slave, TCSANOW, &raw);
  fcntl(master, F_SETFL, O_NONBLOCK);
  FakeClock clock;
  {
    ProgressOptions o;
    o.fd = slave;  // terminal left unset: isatty must say yes
    o.clock = clock.fn();
    Progress p("generate", "completions", 4, o);
    clock.t += 1;
    p.advance();
    clock.t += 0.01;  // too soon to redraw
    p.advance();
    clock.t += 1;
    p.advance();
    std::string so_far = drain(master);
    EXPECT_EQ(count(so_far, "\r"), 2) << so_far;
    EXPECT_EQ(so_far.find('\n'), std::string::npos) << "a bar must not scroll: " << so_far;
    // After 3 of 4 in 2.01 s: 1.49/s, one left, ETA 0:01.
    EXPECT_NE(so_far.find("generate [##################......] 3/4 completions  1.49/s  ETA 0:01"), std::string::npos)
        << so_far;
    clock.t += 1;
    p.advance();  // the last one always redraws
  }
  const std::string rest = drain(master);
  EXPECT_NE(rest.find("\rgenerate [########################] 4/4 completions  1.33/s"), std::string::npos) << rest;
  // The final line replaces the bar, padded over it, and ends the line.
  const size_t final_at = rest.rfind('\r');
  ASSERT_NE(final_at, std::string::npos);
  const std::string final_line = rest.substr(final_at + 1);
  EXPECT_EQ(final_line.substr(0, final_line.find("  ")), "generate: 4/4 completions done in 0:03 (1.33/s)");
  EXPECT_EQ(final_line.back(), '\n');
  EXPECT_EQ(count(rest, "\n"), 1);
  close(master);
  close(slave);
}

TEST_F(ProgressOnPipe, WritesPlainLinesEveryInterval) {
  ProgressOptions o = options();  // a pipe is not a terminal
  o.interval_s = 5;
  Progress p("train", "steps", 10, o);
  for (int i = 0; i < 10; ++i) {
    clock.t += 2;  // a line at 6 s (3 done) and 12 s (6 done), 18 s (9 done)
    p.advance();
  }
  p.finish();
  p.finish();  // idempotent
  const std::string out = drain(pipe.r);
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_EQ(out,
            "train: 3/10 steps  2.00 s each  ETA 0:14\n"
            "train: 6/10 steps  2.00 s each  ETA 0:08\n"
            "train: 9/10 steps  2.00 s each  ETA 0:02\n"
            "train: 10/10 steps done in 0:20 (2.00 s each)\n");
}

TEST_F(ProgressOnPipe, StoppedEarlySaysSo) {
  const ProgressOptions o = options();
  {
    Progress p("eval", "completions", 8, o);
    clock.t += 4;
    p.advance(2);
  }
  EXPECT_EQ(drain(pipe.r), "eval: 2/8 completions (stopped) in 0:04 (2.00 s each)\n");
}

TEST_F(ProgressOnPipe, QuietWritesNothing) {
  ProgressOptions o = options();
  o.quiet = true;
  {
    Progress p("collect", "completions", 3, o);
    for (int i = 0; i < 3; ++i) {
      clock.t += 10;
      p.advance();
    }
  }
  EXPECT_EQ(drain(pipe.r), "");
}

TEST(Progress, ThreadsCountEveryUnitAndLinesStayWhole) {
  Pipe pipe;
  ProgressOptions o;
  o.fd = pipe.w;
  o.interval_s = 0;  // a line on every advance: the most chances to interleave
  Progress p("check", "programs", 400, o);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) p.advance();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(p.done(), 400);
  p.finish();
  const std::string out = drain(pipe.r);
  // Every line is whole: it starts with the label and the counts seen rise to 400.
  size_t begin = 0;
  int lines = 0;
  while (begin < out.size()) {
    const size_t end = out.find('\n', begin);
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(out.compare(begin, 7, "check: "), 0) << out.substr(begin, end - begin);
    begin = end + 1;
    ++lines;
  }
  EXPECT_EQ(lines, 401);
  EXPECT_NE(out.find("check: 400/400 programs done"), std::string::npos);
}

TEST_F(ProgressOnPipe, AnExceptionLeavesTheErrorLineAlone) {
  auto step_then_fail = [&](const ProgressOptions& o) {
    try {
      Progress p("train", "steps", 5, o);
      clock.t += 1;
      p.advance();
      throw std::runtime_error("bad step");
    } catch (const std::runtime_error&) {
    }
  };
  ProgressOptions o = options();
  step_then_fail(o);
  EXPECT_EQ(drain(pipe.r), "");  // no "(stopped)" line before the error
  o.terminal = true;  // a drawn bar gets its line ended, nothing more
  step_then_fail(o);
  const std::string out = drain(pipe.r);
  EXPECT_EQ(out.substr(0, 9), "\rtrain [#");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_EQ(out.back(), '\n');
}
