#pragma once
// One writer per output folder. `s0 train` rewrites its adapter folder after every step for the
// whole run; a second run on the same folder would interleave its states with the first and both
// would report success. The lock is flock(2) on `<folder>/.s0.lock`: exclusive, taken without
// waiting (the second run fails at once, naming the folder and the holder's pid), and released by
// the kernel when the holder exits or is killed, so a killed run never leaves a stale lock. The lock
// file lives inside the folder (the folder stays self-contained; the s0-tuning library reads only
// its three files) and is removed when the holder releases it.
#include <filesystem>

namespace s0 {

class OutputLock {
 public:
  // Creates `dir` if it does not exist, then takes the lock or fails with one line.
  static OutputLock acquire(const std::filesystem::path& dir);
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&&) = delete;
  OutputLock(const OutputLock&) = delete;
  // Removes the lock file, then releases; removes `dir` too when this lock created it and it is
  // still empty (a run that failed before writing anything leaves nothing behind).
  ~OutputLock();

  static constexpr const char* kFileName = ".s0.lock";

 private:
  OutputLock() = default;
  int fd_ = -1;
  std::filesystem::path dir_;
  bool created_dir_ = false;
};

}  // namespace s0
