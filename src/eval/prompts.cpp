#include "eval/prompts.h"

namespace s0 {

std::string humaneval_user_prompt(std::string_view code_prompt) {
  return "Complete the following Python function. Only output the function body, no explanation. No markdown.\n\n" +
         std::string(code_prompt);
}

std::string gsm8k_user_prompt(std::string_view question) {
  return "Solve this math problem step by step. End with the answer after ####.\n\n" + std::string(question);
}

std::string math_user_prompt(std::string_view problem) {
  return "Solve this math problem. Show your work step by step. Put your final answer in \\boxed{}.\n\n" +
         std::string(problem);
}

namespace {

std::string drop_leading_blank_lines(std::string text) {
  size_t keep = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n')
      keep = i + 1;
    else if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
      break;
  }
  return text.substr(keep);
}

}  // namespace

std::string strip_thinking(std::string_view text) {
  std::string s(text);
  size_t lone_close = s.find("</think>");
  size_t first_open = s.find("<think>");
  if (lone_close != std::string::npos && (first_open == std::string::npos || lone_close < first_open))
    s = s.substr(lone_close + 8);
  for (size_t open = s.find("<think>"); open != std::string::npos; open = s.find("<think>", open)) {
    size_t close = s.find("</think>", open);
    s.erase(open, close == std::string::npos ? std::string::npos : close + 8 - open);
  }
  return drop_leading_blank_lines(s);
}

std::string clean_code_completion(std::string_view text) {
  std::string s = strip_thinking(text);
  size_t fence = s.find("```");
  if (fence == std::string::npos) return s;
  size_t body = s.find('\n', fence);
  if (body == std::string::npos) return "";
  ++body;
  size_t close = s.find("```", body);
  std::string inside = s.substr(body, close == std::string::npos ? std::string::npos : close - body);
  return drop_leading_blank_lines(inside);
}

}  // namespace s0
