#pragma once
// The paper's prompts (the user message, before any chat template: the trainer and the generation
// engine apply the model's template with thinking disabled) and the clean-up of generated text.
#include <string>
#include <string_view>

namespace s0 {

std::string humaneval_user_prompt(std::string_view code_prompt);
std::string gsm8k_user_prompt(std::string_view question);
std::string math_user_prompt(std::string_view problem);

// Removes <think>...</think> blocks (and an unterminated one, and everything before a lone
// </think> left by a template that opened the block itself), then leading blank lines.
std::string strip_thinking(std::string_view text);
// strip_thinking, then keeps only the inside of a surrounding ```python (or ```) fence when the
// text has one. Indentation is kept: a HumanEval completion is a function body.
std::string clean_code_completion(std::string_view text);

}  // namespace s0
