#include "eval/dataset.h"

#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "eval/gsm8k.h"
#include "eval/math_answer.h"
#include "eval/prompts.h"
#include "io/file.h"
#include "io/json.h"
#include "io/json_lines.h"

namespace s0 {

Benchmark parse_benchmark(const std::string& name) {
  if (name == "humaneval") return Benchmark::humaneval;
  if (name == "gsm8k") return Benchmark::gsm8k;
  if (name == "math500") return Benchmark::math500;
  fail("unknown benchmark \"", name, "\" (expected humaneval, gsm8k or math500)");
}

const char* benchmark_name(Benchmark b) {
  switch (b) {
    case Benchmark::humaneval:
      return "humaneval";
    case Benchmark::gsm8k:
      return "gsm8k";
    case Benchmark::math500:
      return "math500";
  }
  return "?";
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::train;
  if (name == "eval") return Split::eval;
  if (name == "all") return Split::all;
  fail("unknown split \"", name, "\" (expected train, eval or all)");
}

const char* split_name(Split s) {
  switch (s) {
    case Split::train:
      return "train";
    case Split::eval:
      return "eval";
    case Split::all:
      return "all";
  }
  return "?";
}

namespace {

size_t humaneval_number(const std::string& task_id, const std::string& origin) {
  const std::string prefix = "HumanEval/";
  if (task_id.rfind(prefix, 0) != 0 || task_id.size() == prefix.size())
    fail(origin, ": task_id \"", task_id, "\" is not of the form HumanEval/<number>");
  char* end = nullptr;
  unsigned long n = std::strtoul(task_id.c_str() + prefix.size(), &end, 10);
  if (*end != '\0') fail(origin, ": task_id \"", task_id, "\" is not of the form HumanEval/<number>");
  return n;
}

Problem read_problem(Benchmark b, const Json& row, size_t line_index, const std::string& origin) {
  Problem p;
  p.index = line_index;
  switch (b) {
    case Benchmark::humaneval:
      p.id = json_string(row, "task_id", origin);
      p.index = humaneval_number(p.id, origin);
      p.code_prompt = json_string(row, "prompt", origin);
      p.entry_point = json_string(row, "entry_point", origin);
      p.test = json_string(row, "test", origin);
      p.canonical_solution = json_string(row, "canonical_solution", origin);
      p.prompt = humaneval_user_prompt(p.code_prompt);
      break;
    case Benchmark::gsm8k: {
      p.id = "gsm8k/" + std::to_string(line_index);
      std::string question = json_string(row, "question", origin);
      p.solution = json_string(row, "answer", origin);
      std::ostringstream gold;
      gold.precision(15);
      gold << gsm8k_gold(p.solution, origin);
      p.gold = gold.str();
      p.prompt = gsm8k_user_prompt(question);
      break;
    }
    case Benchmark::math500:
      p.id = json_string(row, "unique_id", origin);
      p.solution = json_string(row, "solution", origin);
      p.gold = math_gold(p.solution, json_string(row, "answer", origin));
      p.prompt = math_user_prompt(json_string(row, "problem", origin));
      break;
  }
  return p;
}

}  // namespace

std::vector<Problem> load_benchmark(Benchmark b, const std::filesystem::path& path) {
  std::vector<Problem> problems;
  for_each_json_line(path, [&](const Json& row, const std::string& origin) {
    problems.push_back(read_problem(b, row, problems.size(), origin));
  });
  if (problems.empty()) fail(path.string(), ": no problems (empty file)");
  return problems;
}

std::vector<Problem> select_split(Benchmark b, const std::vector<Problem>& all, Split s) {
  // GSM8K's eval split is its whole test file; its train split the head of the train file.
  if (s == Split::all || (b == Benchmark::gsm8k && s == Split::eval)) return all;
  if (b == Benchmark::math500 && all.size() != 500)
    fail("math500: the train/eval split needs the full 500-problem file, got ", all.size(),
         " rows (use --split all)");
  // Train = indices below this (HumanEval: task numbers), eval = the rest.
  const size_t train_end = b == Benchmark::humaneval ? 80 : b == Benchmark::gsm8k ? 200 : 250;
  std::vector<Problem> out;
  for (const Problem& p : all)
    if ((p.index < train_end) == (s == Split::train)) out.push_back(p);
  return out;
}

}  // namespace s0
