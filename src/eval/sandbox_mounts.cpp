#include "eval/sandbox_mounts.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace s0 {

namespace fs = std::filesystem;

namespace {

bool under(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end();
}

// A top-level entry like /bin: the same symlink on a merged-/usr system, a read-only bind otherwise.
void add_top_level(std::vector<std::string>& args, const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) return;
  if (fs::is_symlink(st)) {
    fs::path target = fs::read_symlink(path, ec);
    if (!ec) args.insert(args.end(), {"--symlink", target.string(), path});
  } else if (fs::is_directory(st)) {
    args.insert(args.end(), {"--ro-bind", path, path});
  }
}

// A file or folder under /etc, bound only where it exists (`--ro-bind-try` would do the same, but a
// symlink like /etc/localtime must be bound by its target's content, which bind does).
void add_if_present(std::vector<std::string>& args, const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) args.insert(args.end(), {"--ro-bind", path, path});
}

}  // namespace

std::vector<std::string> sandbox_mount_args(const std::string& python, const SandboxLimits& limits) {
  std::vector<std::string> args = {"--ro-bind", "/usr", "/usr"};
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) add_top_level(args, top);
  fs::path prefix = fs::path(python).parent_path().parent_path();
  if (!under(python, "/usr") && prefix != "/") args.insert(args.end(), {"--ro-bind", prefix.string(), prefix.string()});
  for (const char* etc : {"/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"}) add_if_present(args, etc);
  // Debian's python3.X reads /etc/python3.X/sitecustomize.py through a symlink in its library.
  std::string version = fs::path(python).filename().string();  // python3.11
  if (version.rfind("python3.", 0) == 0) add_if_present(args, "/etc/" + version);
  args.insert(args.end(), {"--dev", "/dev", "--remount-ro", "/dev", "--size", std::to_string(limits.shm_size),
                           "--tmpfs", "/dev/shm", "--proc", "/proc", "--tmpfs", "/run", "--remount-ro", "/run",
                           "--size", std::to_string(limits.tmp_size), "--tmpfs", "/tmp", "--dir", "/tmp/work",
                           "--chdir", "/tmp/work",
                           // Last: the root itself (where /etc's few files were bound) becomes
                           // read-only; the mounts on it keep their own modes.
                           "--remount-ro", "/"});
  return args;
}

}  // namespace s0
