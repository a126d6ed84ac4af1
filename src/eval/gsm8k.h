#pragma once
// GSM8K answers as the paper checks them: the gold is the text after "####" with commas removed;
// a prediction is the number after the model's last "####", else the last number it wrote; a
// prediction is correct when it is within 1e-3 of the gold.
#include <optional>
#include <string>
#include <string_view>

namespace s0 {

// The gold number of a GSM8K `answer` field; fails (naming `origin`) when there is none.
double gsm8k_gold(std::string_view answer, const std::string& origin);
// The number the model answered, if it wrote any.
std::optional<double> gsm8k_prediction(std::string_view completion);
bool gsm8k_correct(std::optional<double> prediction, double gold);

}  // namespace s0
