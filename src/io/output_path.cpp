#include "io/output_path.h"

#include <algorithm>

#include "core/error.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

// The absolute path with every symbolic link of its existing part resolved.
fs::path resolved(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec);
  if (ec) r = fs::absolute(p).lexically_normal();
  return normalize_output_path(r);
}

// True when `inner` is `outer` or lies below it (component-wise, both resolved).
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

}  // namespace

fs::path normalize_output_path(const fs::path& p) {
  fs::path out = p;
  while (out.has_relative_path() && (out.filename().empty() || out.filename() == ".")) {
    fs::path parent = out.parent_path();
    if (parent == out) break;
    out = parent.empty() ? fs::path(".") : parent;
    if (out == ".") break;
  }
  return out;
}

void refuse_overlap(const NamedPath& output, const std::vector<NamedPath>& others) {
  const fs::path out = resolved(output.path);
  const std::string who = output.flag + " " + output.path.string();
  for (const NamedPath& other : others) {
    if (other.path.empty()) continue;
    const fs::path in = resolved(other.path);
    const std::string whom = other.flag + " " + other.path.string();
    std::error_code ec;
    if (out == in || fs::equivalent(output.path, other.path, ec))
      fail(who, " is the same path as ", whom, "; refusing to overwrite it");
    if (is_within(out, in)) fail(who, " lies inside ", whom, "; refusing to write into it");
    if (is_within(in, out)) fail(who, " contains ", whom, "; refusing to replace it");
  }
}

void check_file_output(const NamedPath& output, bool force) {
  std::error_code ec;
  const fs::file_status st = fs::status(output.path, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_regular_file(st))
    fail(output.path.string(), ": exists and is not a regular file (given to ", output.flag,
         "); refusing to replace it");
  if (!force) fail(output.path.string(), ": already exists (pass --force to overwrite)");
}

}  // namespace s0
