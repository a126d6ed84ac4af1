#pragma once
// Progress of a long command (collect, train, eval, generate with many prompts), always on stderr so
// that stdout stays machine-readable. On a terminal a bar redrawn in place ("\r", no scrolling)
// with count/total, rate and ETA; anywhere else (a pipe, a log file) one plain line every few
// seconds, so a log neither floods nor stays silent. Both end with one final line.
//
// Thread-safe: the batch engine and the sandbox's workers advance it from their threads. The clock
// and the interval are injectable so tests drive it without sleeping.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace s0 {

struct ProgressOptions {
  bool quiet = false;           // --quiet: write nothing
  int fd = 2;                   // where to write (stderr)
  std::optional<bool> terminal; // unset: isatty(fd)
  double interval_s = 5.0;      // plain output: seconds between lines
  // Seconds since an arbitrary origin; unset: std::chrono::steady_clock.
  std::function<double()> clock;
};

class Progress {
 public:
  // `label` names the work ("train", "generate"), `unit` what is counted ("steps", "completions").
  Progress(std::string label, std::string unit, int64_t total, ProgressOptions options = {});
  // Writes the final line if finish() was not called; while an exception unwinds it only ends a
  // drawn bar's line, so the error that follows stands alone on its own line.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `n` more units done; redraws (terminal: at most ten times a second, and always at the end) or
  // writes a line when the interval has passed.
  void advance(int64_t n = 1);
  // The final line: count, elapsed time and rate. Idempotent.
  void finish();

  int64_t done() const;

 private:
  double now() const;
  std::string status_text(double elapsed) const;  // "12/80 completions  3.40/s  ETA 0:20"
  void write(const std::string& text) const;
  void draw_locked(double t);

  std::string label_, unit_;
  int64_t total_;
  ProgressOptions opt_;
  bool terminal_ = false;
  double start_ = 0, last_draw_ = 0;
  int64_t done_ = 0;
  size_t drawn_width_ = 0;  // terminal: the length of the last bar, to blank what a shorter one leaves
  bool finished_ = false;
  int exceptions_at_start_ = 0;  // std::uncaught_exceptions() when constructed
  mutable std::mutex mutex_;
};

// The options of a command's progress: on stderr, unless `quiet` (--quiet) turns it off.
inline ProgressOptions progress_options(bool quiet) {
  ProgressOptions o;
  o.quiet = quiet;
  return o;
}

// "0:07", "3:25", "1:02:03": a duration for people.
std::string clock_text(double seconds);

}  // namespace s0
