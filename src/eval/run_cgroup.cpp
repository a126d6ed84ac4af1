#include "eval/run_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

bool write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream s(text);
  for (std::string part; std::getline(s, part, sep);) parts.push_back(part);
  return parts;
}

bool has_token(const std::string& list, const std::string& token, char sep) {
  for (const std::string& t : split(list, sep))
    if (t == token) return true;
  return false;
}

// Where each hierarchy s0 runs in is mounted, and s0's own cgroup folder in it.
struct Hierarchies {
  std::string unified;           // cgroup v2: s0's own cgroup folder, "" when none
  std::string memory, pids;      // cgroup v1: s0's own folders in those controllers
};

Hierarchies find_hierarchies() {
  struct Mount {
    std::string root, point, options;
  };
  std::optional<Mount> v2, memory, pids;
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    std::vector<std::string> f = split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 3 >= f.size()) continue;
    Mount m{f[3], f[4], f[dash + 3]};
    if (f[dash + 1] == "cgroup2" && !v2) v2 = m;
    if (f[dash + 1] == "cgroup") {
      if (has_token(m.options, "memory", ',') && !memory) memory = m;
      if (has_token(m.options, "pids", ',') && !pids) pids = m;
    }
  }
  // A folder is the mount point plus s0's path relative to the mount's root (a cgroup namespace
  // or a bind of a sub-hierarchy shows as a root other than "/").
  auto folder = [](const std::optional<Mount>& m, std::string path) -> std::string {
    if (!m) return "";
    if (m->root != "/" && path.rfind(m->root, 0) == 0) path = path.substr(m->root.size());
    return (fs::path(m->point) / fs::path(path).relative_path()).lexically_normal().string();
  };
  Hierarchies h;
  std::ifstream cgroups("/proc/self/cgroup");
  for (std::string line; std::getline(cgroups, line);) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) h.unified = folder(v2, path);
    if (has_token(controllers, "memory", ',')) h.memory = folder(memory, path);
    if (has_token(controllers, "pids", ',')) h.pids = folder(pids, path);
  }
  return h;
}

// Kills every process in `dir` and its children and removes them all. Bounded: a process in
// uninterruptible sleep could keep a cgroup busy; after about two seconds the folder is left.
void kill_and_remove(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  write_file(dir / "cgroup.kill", "1");  // v2: the kernel kills the whole subtree at once
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::vector<fs::path> dirs = {dir};
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_directory(ec)) dirs.push_back(it->path());
    for (const fs::path& d : dirs)
      for (const std::string& pid : split(read_file(d / "cgroup.procs"), '\n'))
        if (!pid.empty()) ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
    // Deepest first: a cgroup with children cannot be removed.
    bool removed = true;
    for (auto d = dirs.rbegin(); d != dirs.rend(); ++d)
      if (::rmdir(d->c_str()) != 0 && errno != ENOENT) removed = false;
    if (removed) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Removes the run cgroups of s0 processes that are gone (killed before they could clean up).
void remove_stale_runs(const fs::path& parent) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename();
    if (name.rfind("s0-", 0) != 0) continue;
    pid_t owner = static_cast<pid_t>(std::strtol(name.c_str() + 3, nullptr, 10));
    if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) kill_and_remove(entry.path());
  }
}

std::string unique_name(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return cat(prefix, ::getpid(), "-", counter++);
}

// Makes `parent`/`name`; the reason in `why_not` when it cannot.
std::string make_dir(const std::string& parent, const std::string& name, std::string& why_not) {
  std::string dir = (fs::path(parent) / name).string();
  if (::mkdir(dir.c_str(), 0755) != 0) {
    why_not = cat("cannot create ", dir, " (", std::strerror(errno), ")");
    return "";
  }
  return dir;
}

bool set_memory(const std::string& dir, bool unified, uint64_t bytes) {
  std::string value = std::to_string(bytes);
  if (unified) {
    write_file(dir + "/memory.swap.max", "0");  // absent without swap accounting: nothing to bound then
    return write_file(dir + "/memory.max", value);
  }
  if (!write_file(dir + "/memory.limit_in_bytes", value)) return false;
  // Memory plus swap: without it a program could push its pages to swap and go on.
  if (::access((dir + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0)
    return write_file(dir + "/memory.memsw.limit_in_bytes", value);
  return true;
}

bool set_limits(const std::string& memory_dir, const std::string& pids_dir, bool unified, const CgroupBudget& b) {
  return set_memory(memory_dir, unified, b.memory) && write_file(pids_dir + "/pids.max", std::to_string(b.processes));
}

}  // namespace

std::unique_ptr<RunCgroup> RunCgroup::create(const CgroupBudget& budget, std::string& why_not) {
  Hierarchies h = find_hierarchies();
  std::unique_ptr<RunCgroup> run(new RunCgroup());
  std::string name = unique_name("s0-");
  if (!h.memory.empty() && !h.pids.empty()) {
    remove_stale_runs(h.memory);
    remove_stale_runs(h.pids);
    run->memory_dir_ = make_dir(h.memory, name, why_not);
    if (!run->memory_dir_.empty()) run->pids_dir_ = make_dir(h.pids, name, why_not);
    if (!run->pids_dir_.empty() && set_limits(run->memory_dir_, run->pids_dir_, false, budget)) return run;
    if (why_not.empty()) why_not = cat("cannot set the limits of ", run->memory_dir_, " (", std::strerror(errno), ")");
    return nullptr;  // the destructor removes what was made
  }
  if (!h.unified.empty()) {
    std::string controllers = read_file(h.unified + "/cgroup.controllers");
    controllers = controllers.substr(0, controllers.find('\n'));
    if (!has_token(controllers, "memory", ' ') || !has_token(controllers, "pids", ' ')) {
      why_not = cat("the memory and pids controllers are not available in ", h.unified);
      return nullptr;
    }
    remove_stale_runs(h.unified);
    run->unified_ = true;
    run->memory_dir_ = run->pids_dir_ = make_dir(h.unified, name, why_not);
    if (run->memory_dir_.empty()) return nullptr;
    // The run's folder has no processes of its own, so it may hand both controllers to its programs.
    if (::access((run->memory_dir_ + "/memory.max").c_str(), F_OK) == 0 &&
        write_file(run->memory_dir_ + "/cgroup.subtree_control", "+memory +pids") &&
        set_limits(run->memory_dir_, run->pids_dir_, true, budget))
      return run;
    why_not = cat("cannot enable the memory and pids controllers in ", run->memory_dir_,
                  " (s0's own cgroup does not delegate them)");
    return nullptr;
  }
  why_not = "no cgroup hierarchy with the memory and pids controllers is mounted";
  return nullptr;
}

RunCgroup::~RunCgroup() {
  if (!memory_dir_.empty()) kill_and_remove(memory_dir_);
  if (!pids_dir_.empty() && pids_dir_ != memory_dir_) kill_and_remove(pids_dir_);
}

std::unique_ptr<RunCgroup::Program> RunCgroup::program(const CgroupBudget& limits) const {
  std::unique_ptr<Program> p(new Program());
  std::string name = unique_name("program-"), why_not;
  for (const std::string& parent : unified_ ? std::vector<std::string>{memory_dir_}
                                            : std::vector<std::string>{memory_dir_, pids_dir_}) {
    std::string dir = make_dir(parent, name, why_not);
    if (dir.empty()) fail("sandbox: ", why_not);
    p->dirs_.push_back(dir);
    p->procs_files_.push_back(dir + "/cgroup.procs");
  }
  if (!set_limits(p->dirs_.front(), p->dirs_.back(), unified_, limits))
    fail("sandbox: cannot set the limits of ", p->dirs_.front(), " (", std::strerror(errno), ")");
  return p;
}

RunCgroup::Program::~Program() {
  for (const std::string& dir : dirs_) kill_and_remove(dir);
}

int64_t RunCgroup::processes() const {
  std::string current = read_file(pids_dir_ + "/pids.current");
  return current.empty() ? -1 : std::stoll(current);
}

}  // namespace s0
