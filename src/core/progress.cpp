#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>

namespace s0 {

namespace {

// A terminal bar redrawn more often than this only costs time; the eye sees no difference.
constexpr double kRedrawSeconds = 0.1;
constexpr int kBarWidth = 24;

// Slow work (training steps) reads better as seconds per unit.
std::string rate_text(double rate) {
  char buf[48];
  if (rate >= 1)
    std::snprintf(buf, sizeof buf, "%.2f/s", rate);
  else
    std::snprintf(buf, sizeof buf, "%.2f s each", 1 / rate);
  return buf;
}

}  // namespace

std::string clock_text(double seconds) {
  const int64_t s = std::llround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

Progress::Progress(std::string label, std::string unit, int64_t total, ProgressOptions options)
    : label_(std::move(label)), unit_(std::move(unit)), total_(std::max<int64_t>(total, 0)), opt_(std::move(options)) {
  terminal_ = opt_.terminal.value_or(isatty(opt_.fd) == 1);
  exceptions_at_start_ = std::uncaught_exceptions();
  start_ = last_draw_ = now();
  if (total_ == 0) finished_ = true;  // nothing to show
}

Progress::~Progress() {
  if (std::uncaught_exceptions() <= exceptions_at_start_) {
    finish();
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!opt_.quiet && terminal_ && drawn_width_ > 0 && !finished_) write("\n");
  finished_ = true;
}

double Progress::now() const {
  if (opt_.clock) return opt_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t Progress::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

std::string Progress::status_text(double elapsed) const {
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  std::string out = std::to_string(done_) + "/" + std::to_string(total_) + " " + unit_;
  if (rate > 0) {
    out += "  " + rate_text(rate);
    if (done_ < total_) out += "  ETA " + clock_text(static_cast<double>(total_ - done_) / rate);
  }
  return out;
}

void Progress::write(const std::string& text) const {
  // One write per update, so lines from threads never interleave mid-line; a failed write to
  // stderr is not worth failing the command for.
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t w = ::write(opt_.fd, p, left);
    if (w <= 0) return;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

void Progress::draw_locked(double t) {
  last_draw_ = t;
  const double elapsed = t - start_;
  if (!terminal_) {
    write(label_ + ": " + status_text(elapsed) + "\n");
    return;
  }
  const int filled = static_cast<int>(kBarWidth * done_ / std::max<int64_t>(total_, 1));
  std::string bar = label_ + " [" + std::string(static_cast<size_t>(filled), '#') +
                    std::string(static_cast<size_t>(kBarWidth - filled), '.') + "] " + status_text(elapsed);
  const size_t width = bar.size();
  if (width < drawn_width_) bar += std::string(drawn_width_ - width, ' ');
  drawn_width_ = width;
  write("\r" + bar);
}

void Progress::advance(int64_t n) {
  if (opt_.quiet) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  done_ = std::min(total_, done_ + n);
  const double t = now();
  if (terminal_ ? t - last_draw_ >= kRedrawSeconds || done_ == total_ : t - last_draw_ >= opt_.interval_s)
    draw_locked(t);
}

void Progress::finish() {
  if (opt_.quiet) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  const double elapsed = now() - start_;
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  std::string tail = " in " + clock_text(elapsed);
  if (rate > 0) tail += " (" + rate_text(rate) + ")";
  const std::string line = label_ + ": " + std::to_string(done_) + "/" + std::to_string(total_) + " " + unit_ +
                           (done_ == total_ ? " done" : " (stopped)") + tail;
  if (!terminal_) {
    write(line + "\n");
    return;
  }
  // The final state replaces the bar on its own line.
  const std::string padded = line + (line.size() < drawn_width_ ? std::string(drawn_width_ - line.size(), ' ') : "");
  write("\r" + padded + "\n");
}

}  // namespace s0
