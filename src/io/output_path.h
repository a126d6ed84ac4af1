#pragma once
// Where a command writes, checked before it writes anything. An output must never be, contain, or
// lie inside one of the command's inputs (`s0 train --model M --out M --force` would otherwise
// replace the model it reads), and `--force` replaces only what s0 itself writes.
#include <filesystem>
#include <string>
#include <vector>

namespace s0 {

// A path as the user gave it, with the flag that gave it (for messages).
struct NamedPath {
  std::string flag;  // e.g. "--out"
  std::filesystem::path path;
};

// `ads/`, `ads//` and `./ads/.` name the folder `ads`: trailing separators and "." components are
// dropped. Nothing else is rewritten (`m/..` is not lexical when m is a symbolic link).
std::filesystem::path normalize_output_path(const std::filesystem::path& p);

// Fails with one line naming both paths when `output` is the same file or folder as one of
// `others` (the inputs, or the command's other outputs), contains it, or lies inside it. Paths are
// compared after resolving symbolic links, `.` and `..` (so `./m/`, `m/../m` and a link to m are m),
// and existing files also by identity (hard links). Entries with an empty path are skipped.
void refuse_overlap(const NamedPath& output, const std::vector<NamedPath>& others);

// A single output file (a report, a JSON-lines file): an existing one is replaced only with
// `force`, and never when it is not a regular file (a folder, a FIFO, a device).
void check_file_output(const NamedPath& output, bool force);

}  // namespace s0
