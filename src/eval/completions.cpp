#include "eval/completions.h"

#include <map>

#include "core/error.h"
#include "io/json.h"
#include "io/json_lines.h"

namespace s0 {

std::string completion_lines(const std::vector<Problem>& problems,
                             const std::vector<std::vector<std::string>>& samples) {
  if (problems.size() != samples.size())
    fail("internal: ", samples.size(), " sample lists for ", problems.size(), " problems");
  std::string out;
  for (size_t i = 0; i < problems.size(); ++i)
    for (const std::string& completion : samples[i])
      out += Json{{"task_id", problems[i].id}, {"completion", completion}}.dump() + "\n";
  return out;
}

CompletionSet read_completions(const std::filesystem::path& path, const std::vector<Problem>& all,
                               const std::vector<Problem>& selected) {
  std::map<std::string, size_t> by_id;
  std::map<size_t, size_t> by_index;
  for (size_t i = 0; i < all.size(); ++i) {
    by_id[all[i].id] = i;
    by_index[all[i].index] = i;
  }
  std::map<std::string, size_t> slot;  // problem id -> position in `selected`
  for (size_t i = 0; i < selected.size(); ++i) slot[selected[i].id] = i;

  CompletionSet set;
  set.samples.resize(selected.size());
  for_each_json_line(path, [&](const Json& row, const std::string& origin) {
    std::string completion = json_string(row, "completion", origin);
    size_t problem;
    if (row.contains("task_id")) {
      std::string id = json_string(row, "task_id", origin);
      auto it = by_id.find(id);
      if (it == by_id.end()) fail(origin, ": task_id \"", id, "\" is not a problem of the data file");
      problem = it->second;
    } else if (row.contains("index")) {
      int64_t index = json_int(row, "index", origin);
      auto it = index >= 0 ? by_index.find(static_cast<size_t>(index)) : by_index.end();
      if (it == by_index.end()) fail(origin, ": index ", index, " is not a problem of the data file");
      problem = it->second;
    } else {
      fail(origin, ": missing field \"task_id\" (or \"index\")");
    }
    auto s = slot.find(all[problem].id);
    if (s == slot.end()) {
      ++set.skipped;
      return;
    }
    set.samples[s->second].push_back(std::move(completion));
  });
  size_t missing = 0;
  std::string first_missing;
  for (size_t i = 0; i < selected.size(); ++i) {
    if (!set.samples[i].empty()) continue;
    if (missing++ == 0) first_missing = selected[i].id;
  }
  if (missing)
    fail(path.string(), ": no completion for ", first_missing,
         missing > 1 ? cat(" and ", missing - 1, " other problems of the split") : std::string());
  return set;
}

}  // namespace s0
