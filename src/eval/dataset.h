#pragma once
// The three benchmarks read from the JSON-lines files the user gives (as published, see
// docs/eval.md), each row becoming a Problem with the paper's prompt and the splits it used.
#include <filesystem>
#include <string>
#include <vector>

namespace s0 {

enum class Benchmark { humaneval, gsm8k, math500 };
Benchmark parse_benchmark(const std::string& name);
const char* benchmark_name(Benchmark b);

// train: the pool training data are collected from; eval: the problems adapters are scored on.
enum class Split { train, eval, all };
Split parse_split(const std::string& name);
const char* split_name(Split s);

struct Problem {
  std::string id;      // HumanEval task_id, MATH unique_id, "gsm8k/<row>" for GSM8K
  size_t index = 0;    // 0-based row in the file (HumanEval: the task number)
  std::string prompt;  // the user message of the paper's prompt
  // HumanEval
  std::string code_prompt, entry_point, test, canonical_solution;
  // GSM8K and MATH-500: the raw gold answer (GSM8K's number as written, MATH's LaTeX)
  std::string gold;
  std::string solution;  // MATH-500 reference solution / GSM8K worked answer
};

// Reads every row; a malformed row fails naming the file, line and field.
std::vector<Problem> load_benchmark(Benchmark b, const std::filesystem::path& path);

// The paper's splits: HumanEval train = task ids 0-79, eval = 80-163; MATH-500 train = first 250
// rows, eval = last 250 (the file must hold all 500); GSM8K train = first 200 rows of the file
// given (gsm8k_train.jsonl), eval = every row (gsm8k_test.jsonl).
std::vector<Problem> select_split(Benchmark b, const std::vector<Problem>& all, Split s);

}  // namespace s0
