#pragma once
// Completions in a file, the way `s0 collect` and `s0 eval` take them (and `s0 eval --model` saves
// what it generated). JSON lines, one sample per line:
//   {"task_id": "HumanEval/81", "completion": "..."}   or   {"index": 81, "completion": "..."}
// task_id is the problem's id (HumanEval task_id, MATH unique_id, "gsm8k/<row>"); index is its
// 0-based row in the data file (for HumanEval the task number). Several lines for one problem are
// its samples, in file order (the first is the greedy one for pass@1 and `passed`). Other fields
// are ignored; lines for problems outside the chosen split are skipped.
#include <filesystem>
#include <string>
#include <vector>

#include "eval/dataset.h"

namespace s0 {

struct CompletionSet {
  std::vector<std::vector<std::string>> samples;  // per selected problem, in order
  size_t skipped = 0;                             // lines for problems outside the split
};

// `all` is every problem of the data file (to resolve ids and indices), `selected` the split.
// Fails naming the file and line on a malformed line or an unknown problem, and when a selected
// problem has no completion.
// The same format written back: one {"task_id", "completion"} line per sample, problems in order and
// each problem's samples in order, so that read_completions returns `samples` again.
std::string completion_lines(const std::vector<Problem>& problems,
                             const std::vector<std::vector<std::string>>& samples);

CompletionSet read_completions(const std::filesystem::path& path, const std::vector<Problem>& all,
                               const std::vector<Problem>& selected);

}  // namespace s0
