#include "eval/gsm8k.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/error.h"

namespace s0 {

namespace {

bool is_digit(char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; }

// Every number in `text` in order: an optional minus, digits with thousands commas, and an
// optional decimal part ("1,234.5", "-3", ".5"). A trailing sentence full stop is not a decimal point.
std::vector<double> numbers_in(std::string_view text) {
  std::vector<double> found;
  size_t i = 0;
  while (i < text.size()) {
    bool starts = is_digit(text[i]) || (text[i] == '.' && i + 1 < text.size() && is_digit(text[i + 1]));
    if (!starts || (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.'))) {
      ++i;
      continue;
    }
    bool negative = i > 0 && text[i - 1] == '-';
    std::string digits;
    size_t j = i;
    while (j < text.size() && (is_digit(text[j]) || (text[j] == ',' && j + 1 < text.size() && is_digit(text[j + 1])))) {
      if (text[j] != ',') digits += text[j];
      ++j;
    }
    if (j + 1 < text.size() && text[j] == '.' && is_digit(text[j + 1])) {
      digits += '.';
      ++j;
      while (j < text.size() && is_digit(text[j])) digits += text[j++];
    }
    double v = std::strtod(digits.c_str(), nullptr);
    found.push_back(negative ? -v : v);
    i = j;
  }
  return found;
}

}  // namespace

double gsm8k_gold(std::string_view answer, const std::string& origin) {
  size_t mark = answer.rfind("####");
  if (mark == std::string_view::npos) fail(origin, ": answer has no \"####\" final answer");
  std::vector<double> nums = numbers_in(answer.substr(mark + 4));
  if (nums.empty()) fail(origin, ": no number after \"####\"");
  return nums.front();
}

std::optional<double> gsm8k_prediction(std::string_view completion) {
  size_t mark = completion.rfind("####");
  if (mark != std::string_view::npos) {
    std::vector<double> after = numbers_in(completion.substr(mark + 4));
    if (!after.empty()) return after.front();
  }
  std::vector<double> all = numbers_in(completion);
  if (all.empty()) return std::nullopt;
  return all.back();
}

bool gsm8k_correct(std::optional<double> prediction, double gold) {
  return prediction.has_value() && std::fabs(*prediction - gold) < 1e-3;
}

}  // namespace s0
