#pragma once
// The program that decides a HumanEval completion: prompt + completion + "\n" + test + "\n" +
// "check(entry_point)", run under a 10 s limit. A completion that repeats the whole function
// still works: its def simply redefines the prompt's.
#include <string>
#include <string_view>

#include "eval/dataset.h"

namespace s0 {

constexpr double kHumanEvalSeconds = 10.0;

std::string humaneval_program(const Problem& p, std::string_view completion);

}  // namespace s0
