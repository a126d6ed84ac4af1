#pragma once
// MATH-500 answers as the paper checks them: the prediction is the content of the model's last
// \boxed{...}; the gold is the last \boxed{} of the reference solution, else the `answer` field.
// Both are normalised (strip $, \text{}, \left/\right, \frac{a}{b} -> (a)/(b), \sqrt{x} -> sqrt(x),
// spacing) and then compared numerically with relative tolerance 1e-4 when both evaluate to numbers,
// element by element for tuples and intervals, and as strings otherwise.
#include <optional>
#include <string>
#include <string_view>

namespace s0 {

// Content of the last \boxed{...} (balanced braces; also "\boxed 5" and \fbox{...}).
std::optional<std::string> last_boxed(std::string_view text);
std::string math_gold(std::string_view solution, std::string_view answer);
std::string normalize_math_answer(std::string_view latex);
// The value of a normalised answer when it is an arithmetic expression of numbers, pi and sqrt.
std::optional<double> evaluate_math_answer(std::string_view normalized);
// True when two (raw LaTeX) answers are the same after normalisation.
bool math_equivalent(std::string_view prediction, std::string_view gold);

}  // namespace s0
