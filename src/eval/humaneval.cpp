#include "eval/humaneval.h"

namespace s0 {

std::string humaneval_program(const Problem& p, std::string_view completion) {
  std::string program = p.code_prompt;
  program += completion;
  program += "\n";
  program += p.test;
  program += "\n";
  program += "check(" + p.entry_point + ")\n";
  return program;
}

}  // namespace s0
