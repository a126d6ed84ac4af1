#include "eval/math_answer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <regex>
#include <vector>

namespace s0 {

namespace {

bool is_alpha(char ch) { return std::isalpha(static_cast<unsigned char>(ch)) != 0; }
bool is_digit(char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; }
bool is_space(char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; }

// Index just past the brace group opening at s[open] == '{', or npos when unbalanced.
size_t match_brace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;  // an escaped brace \{ does not count
      continue;
    }
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

// `s` with every occurrence of the control word `word` (e.g. "\\left") that is not the prefix of
// a longer control word replaced by `with`.
std::string replace_command(std::string_view s, std::string_view word, std::string_view with) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, word.size(), word) == 0 && (i + word.size() >= s.size() || !is_alpha(s[i + word.size()]))) {
      out += with;
      i += word.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t start = 0;
  for (size_t pos = s.find(from); pos != std::string_view::npos; pos = s.find(from, start)) {
    out.append(s.substr(start, pos - start)).append(to);
    start = pos + from.size();
  }
  return out.append(s.substr(start));
}

// \text{X} (and the other text-like wrappers) -> X.
std::string unwrap_text_commands(std::string s) {
  static const char* wrappers[] = {"\\text",   "\\textbf", "\\textit",     "\\textrm",      "\\mathrm",
                                   "\\mathbf", "\\mbox",   "\\textnormal", "\\operatorname"};
  for (const char* w : wrappers) {
    std::string_view word(w);
    size_t pos = 0;
    while ((pos = s.find(word, pos)) != std::string::npos) {
      size_t open = pos + word.size();
      while (open < s.size() && is_space(s[open])) ++open;
      if (open >= s.size() || s[open] != '{' || (pos + word.size() < s.size() && is_alpha(s[pos + word.size()]))) {
        pos += word.size();
        continue;
      }
      size_t end = match_brace(s, open);
      if (end == std::string::npos) break;
      s = s.substr(0, pos) + s.substr(open + 1, end - open - 2) + s.substr(end);
    }
  }
  return s;
}

// One macro argument at s[i]: a brace group's content, a control word, or a single character.
std::string read_argument(std::string_view s, size_t& i) {
  while (i < s.size() && is_space(s[i])) ++i;
  if (i >= s.size()) return "";
  if (s[i] == '{') {
    size_t end = match_brace(s, i);
    if (end == std::string_view::npos) {  // unbalanced: the rest of the answer
      std::string arg(s.substr(i + 1));
      i = s.size();
      return arg;
    }
    std::string arg(s.substr(i + 1, end - i - 2));
    i = end;
    return arg;
  }
  size_t start = i++;
  if (s[start] == '\\')
    while (i < s.size() && is_alpha(s[i])) ++i;
  return std::string(s.substr(start, i - start));
}

// \frac{a}{b} -> (a)/(b) and \sqrt[n]{x} -> sqrt(x) or (x)^(1/(n)), recursively.
std::string rewrite_fractions_and_roots(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 5, "\\frac") == 0 && (i + 5 >= s.size() || !is_alpha(s[i + 5]))) {
      i += 5;
      std::string num = rewrite_fractions_and_roots(read_argument(s, i));
      std::string den = rewrite_fractions_and_roots(read_argument(s, i));
      out += "(" + num + ")/(" + den + ")";
    } else if (s.compare(i, 5, "\\sqrt") == 0 && (i + 5 >= s.size() || !is_alpha(s[i + 5]))) {
      i += 5;
      std::string degree;
      if (i < s.size() && s[i] == '[') {
        size_t close = s.find(']', i);
        if (close == std::string_view::npos) close = s.size() - 1;
        degree = std::string(s.substr(i + 1, close - i - 1));
        i = close + 1;
      }
      std::string radicand = rewrite_fractions_and_roots(read_argument(s, i));
      out += degree.empty() ? "sqrt(" + radicand + ")" : "(" + radicand + ")^(1/(" + degree + "))";
    } else {
      out += s[i++];
    }
  }
  return out;
}

// Drops grouping braces (which only matter to LaTeX) and keeps escaped set braces as { }.
std::string drop_braces(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      out += s[++i];
    } else if (s[i] != '{' && s[i] != '}') {
      out += s[i];
    }
  }
  return out;
}

// A recursive-descent evaluator over + - * / ^ ** ( ) sqrt pi with implicit multiplication
// ("2sqrt(3)", "3pi", "(1)/(2)(3)"). Anything else makes the answer non-numeric.
class Evaluator {
 public:
  explicit Evaluator(std::string_view s) : s_(s) {}
  std::optional<double> run() {
    std::optional<double> v = expr();
    if (!v || pos_ != s_.size() || !std::isfinite(*v)) return std::nullopt;
    return v;
  }

 private:
  bool eat(std::string_view token) {
    if (s_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  bool starts_atom() const {
    if (pos_ >= s_.size()) return false;
    char ch = s_[pos_];
    return is_digit(ch) || ch == '.' || ch == '(' || s_.compare(pos_, 4, "sqrt") == 0 || s_.compare(pos_, 2, "pi") == 0;
  }
  std::optional<double> expr() {
    std::optional<double> v = term();
    while (v && pos_ < s_.size()) {
      if (eat("+")) {
        auto r = term();
        if (!r) return std::nullopt;
        *v += *r;
      } else if (eat("-")) {
        auto r = term();
        if (!r) return std::nullopt;
        *v -= *r;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<double> term() {
    std::optional<double> v = unary();
    while (v && pos_ < s_.size()) {
      if (s_.compare(pos_, 2, "**") != 0 && eat("*")) {
        auto r = unary();
        if (!r) return std::nullopt;
        *v *= *r;
      } else if (eat("/")) {
        auto r = unary();
        if (!r || *r == 0) return std::nullopt;
        *v /= *r;
      } else if (starts_atom()) {
        auto r = power();
        if (!r) return std::nullopt;
        *v *= *r;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<double> unary() {
    if (eat("-")) {
      auto v = unary();
      return v ? std::optional<double>(-*v) : std::nullopt;
    }
    if (eat("+")) return unary();
    return power();
  }
  std::optional<double> power() {
    std::optional<double> base = atom();
    if (base && (eat("^") || eat("**"))) {
      auto exponent = unary();
      if (!exponent) return std::nullopt;
      return std::pow(*base, *exponent);
    }
    return base;
  }
  std::optional<double> atom() {
    if (eat("(")) {
      auto v = expr();
      if (!v || !eat(")")) return std::nullopt;
      return v;
    }
    if (eat("sqrt")) {
      if (!eat("(")) return std::nullopt;
      auto v = expr();
      if (!v || !eat(")") || *v < 0) return std::nullopt;
      return std::sqrt(*v);
    }
    if (eat("pi")) return std::numbers::pi;
    size_t start = pos_;
    while (pos_ < s_.size() && (is_digit(s_[pos_]) || s_[pos_] == '.')) ++pos_;
    if (start == pos_) return std::nullopt;
    std::string digits(s_.substr(start, pos_ - start));
    char* end = nullptr;
    double v = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size()) return std::nullopt;
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool close_enough(double a, double b) {
  double diff = std::fabs(a - b);
  return diff <= 1e-4 * std::max(std::fabs(a), std::fabs(b)) || diff < 1e-12;
}

// Splits at commas outside any brackets.
std::vector<std::string> split_top_level(std::string_view s) {
  std::vector<std::string> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(' || s[i] == '[' || s[i] == '{') ++depth;
    if (s[i] == ')' || s[i] == ']' || s[i] == '}') --depth;
    if (s[i] == ',' && depth == 0) {
      parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

// When the whole string is one bracketed list such as "(1,2)" or "[0,1)", its opening and closing
// characters and its inside; "(1)/(2)" is not one (its first bracket closes early).
std::optional<std::string> outer_brackets_inside(std::string_view s, std::string& brackets) {
  if (s.size() < 2 || std::string_view("([{").find(s.front()) == std::string_view::npos ||
      std::string_view(")]}").find(s.back()) == std::string_view::npos)
    return std::nullopt;
  int depth = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '(' || s[i] == '[' || s[i] == '{') ++depth;
    if (s[i] == ')' || s[i] == ']' || s[i] == '}') --depth;
    if (depth == 0) return std::nullopt;
  }
  brackets = {s.front(), s.back()};
  return std::string(s.substr(1, s.size() - 2));
}

bool normalized_equal(std::string_view a, std::string_view b) {
  if (a == b) return true;
  std::optional<double> va = evaluate_math_answer(a), vb = evaluate_math_answer(b);
  if (va && vb) return close_enough(*va, *vb);
  std::string ba, bb;
  std::optional<std::string> ia = outer_brackets_inside(a, ba), ib = outer_brackets_inside(b, bb);
  std::vector<std::string> pa = split_top_level(ia && ba == bb ? *ia : std::string(a));
  std::vector<std::string> pb = split_top_level(ib && ba == bb ? *ib : std::string(b));
  if (pa.size() < 2 || pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i)
    if (!normalized_equal(pa[i], pb[i])) return false;
  return true;
}

}  // namespace

std::optional<std::string> last_boxed(std::string_view text) {
  size_t best = std::string_view::npos;
  size_t skip = 0;
  for (std::string_view word : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    size_t pos = text.rfind(word);
    if (pos != std::string_view::npos && (best == std::string_view::npos || pos > best)) {
      best = pos;
      skip = word.size();
    }
  }
  if (best == std::string_view::npos) return std::nullopt;
  size_t i = best + skip;
  if (i < text.size() && text[i] == '{') {
    size_t end = match_brace(text, i);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(text.substr(i + 1, end - i - 2));
  }
  // "\boxed 5": up to the end of the math or of the line.
  while (i < text.size() && text[i] == ' ') ++i;
  size_t end = text.find_first_of("$\n", i);
  std::string_view inside = text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
  if (inside.empty()) return std::nullopt;
  return std::string(inside);
}

std::string math_gold(std::string_view solution, std::string_view answer) {
  std::optional<std::string> boxed = last_boxed(solution);
  return boxed ? *boxed : std::string(answer);
}

std::string normalize_math_answer(std::string_view latex) {
  std::string s(latex);
  for (const char* spacing : {"\\!", "\\,", "\\;", "\\:", "\\ ", "~", "\\$", "$"}) s = replace_all(s, spacing, " ");
  // A unit after the value, written the MATH way as \text{ cm}^2 (leading space), is not part of it.
  static const std::regex unit(R"((\S)\s*\\(?:text|mbox|mathrm|textnormal)\{ [^{}]*\}(?:\^\{?\d\}?)?)");
  s = std::regex_replace(s, unit, "$1");
  for (const char* word : {"\\left", "\\right", "\\displaystyle", "\\degree"}) s = replace_command(s, word, "");
  s = unwrap_text_commands(s);
  for (const char* mark : {"^{\\circ}", "^\\circ", "\\%", "%"}) s = replace_all(s, mark, "");
  s = replace_command(s, "\\circ", "");
  s = replace_command(s, "\\dfrac", "\\frac");
  s = replace_command(s, "\\tfrac", "\\frac");
  s = rewrite_fractions_and_roots(s);
  s = replace_command(s, "\\cdot", "*");
  s = replace_command(s, "\\times", "*");
  s = replace_command(s, "\\pi", "pi");
  s = replace_command(s, "\\infty", "infty");
  s = replace_all(s, "{,}", ",");
  s.erase(std::remove_if(s.begin(), s.end(), is_space), s.end());
  s = drop_braces(s);
  while (!s.empty() && s.back() == '.') s.pop_back();
  // "x=5" answers the same as "5" when the left side is just a variable name.
  static const std::regex assignment(R"(^[A-Za-z](_[A-Za-z0-9]+)?=([^=]+)$)");
  std::smatch m;
  if (std::regex_match(s, m, assignment)) s = m[2].str();
  static const std::regex thousands(R"(^-?\d{1,3}(,\d{3})+(\.\d+)?$)");
  if (std::regex_match(s, thousands)) s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  return s;
}

std::optional<double> evaluate_math_answer(std::string_view normalized) {
  if (normalized.empty()) return std::nullopt;
  return Evaluator(normalized).run();
}

bool math_equivalent(std::string_view prediction, std::string_view gold) {
  return normalized_equal(normalize_math_answer(prediction), normalize_math_answer(gold));
}

}  // namespace s0
