#pragma once
// Files the engine writes appear whole or not at all. The bytes go to a temporary file beside the
// target, named `.<target name>.s0-tmp-<pid>-<random>` (hidden, and recognisably s0's own), are
// flushed with fsync and renamed over the target; the directory is then fsynced so that the
// rename itself survives a crash. A run killed in between leaves its temporary behind: the next
// completed write of the same target removes the temporaries of processes that no longer exist
// (never those of a live writer, and never a file of any other name).
#include <filesystem>
#include <string>
#include <string_view>

namespace s0 {

// One file written to its temporary and fsynced, but not yet visible under its name. Several can
// be staged and then committed back to back, so that the window in which a reader sees some of
// them replaced and others not is a few rename calls long.
class StagedFile {
 public:
  StagedFile(const std::filesystem::path& target, std::string_view data);
  ~StagedFile();  // removes the temporary unless committed
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;

  // Renames the temporary over the target: a reader sees the old file or the new one, whole. The
  // caller then fsyncs the directory (sync_directory) once for all the files it committed.
  void commit();

 private:
  std::filesystem::path target_, temporary_;
};

// Writes `data` to `path` atomically and durably; `path` either appears whole or is left as it was.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

// fsync of a directory: makes the renames and creations inside it durable.
void sync_directory(const std::filesystem::path& dir);

// True when `entry` (a file name) is a temporary that StagedFile names for the target `target_name`.
bool is_temporary_of(const std::string& entry, const std::string& target_name);

// Removes the temporaries left for `target` by writers that are no longer running.
void remove_stale_temporaries(const std::filesystem::path& target);

}  // namespace s0
