#include "io/hf_cache.h"

#include <cctype>
#include <cstdlib>

#include "core/error.h"
#include "io/file.h"

namespace s0 {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Hub repo ids: one '/', each side of letters, digits, '-', '_', '.', not starting with '.' or
// '-' (the hub's own rule; anything else cannot be a repo and is reported as a missing folder).
bool is_repo_part(const std::string& s) {
  if (s.empty() || s.size() > 96 || s[0] == '.' || s[0] == '-') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return s.find("..") == std::string::npos;
}

bool is_revision(const std::string& s) {
  if (s.empty() || s.size() > 128 || s[0] == '.') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return s.find("..") == std::string::npos;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

fs::path hf_hub_cache_dir() {
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HF_HOME").empty()) return fs::path(env("HF_HOME")) / "hub";
  if (!env("XDG_CACHE_HOME").empty()) return fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "hub";
  return fs::path(env("HOME").empty() ? "/" : env("HOME")) / ".cache" / "huggingface" / "hub";
}

fs::path resolve_model_folder(const std::string& spec) {
  std::error_code ec;
  if (fs::exists(spec, ec)) return spec;
  std::string repo = spec, revision = "main";
  if (size_t at = spec.find('@'); at != std::string::npos) {
    repo = spec.substr(0, at);
    revision = spec.substr(at + 1);
  }
  const size_t slash = repo.find('/');
  const bool repo_id = slash != std::string::npos && repo.find('/', slash + 1) == std::string::npos &&
                       is_repo_part(repo.substr(0, slash)) && is_repo_part(repo.substr(slash + 1)) &&
                       is_revision(revision);
  if (!repo_id) fail(spec, ": no such folder (nor a Hugging Face repo id such as Qwen/Qwen3.5-4B)");

  const fs::path cache = hf_hub_cache_dir();
  const fs::path repo_dir = cache / ("models--" + repo.substr(0, slash) + "--" + repo.substr(slash + 1));
  const std::string hint = " (set HF_HUB_CACHE or HF_HOME to the cache that holds it, or download it with `hf download " +
                           repo + "`)";
  if (!fs::is_directory(repo_dir, ec))
    fail(spec, " is neither a folder nor in the Hugging Face cache: no ", repo_dir.string(), hint);
  // A revision is a ref (branch or tag) when refs/ names it, else a commit hash.
  std::string commit = revision;
  const fs::path ref = repo_dir / "refs" / revision;
  if (fs::is_regular_file(ref, ec)) commit = trimmed(read_file(ref));
  const fs::path snapshot = repo_dir / "snapshots" / commit;
  if (!is_revision(commit) || !fs::is_directory(snapshot, ec))
    fail(spec, ": the Hugging Face cache has no snapshot for revision ", revision, " (looked for ",
         fs::is_regular_file(ref, ec) ? snapshot.string() : ref.string() + " and " + snapshot.string(), ")", hint);
  return snapshot;
}

}  // namespace s0
