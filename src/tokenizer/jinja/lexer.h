#pragma once
// Splits a Jinja template into text and the tokens inside {{ }}, {% %} tags (comments {# #}
// vanish), applying whitespace control: "-" on a tag side strips all whitespace on that side.
// Hugging Face renders chat templates with Jinja's trim_blocks and lstrip_blocks on, so they are
// always on here: the first newline after a block tag is removed, and spaces and tabs before a
// block tag at the start of a line are removed ("+" on that side turns either off).
#include <string>
#include <vector>

namespace s0::jinja {

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
  Tok kind;
  std::string text;  // the text, name, operator, or the literal's value (strings unescaped)
  int line = 1, col = 1;
};

// Errors name `origin` with the line and column.
std::vector<Token> lex(const std::string& source, const std::string& origin);

}  // namespace s0::jinja
