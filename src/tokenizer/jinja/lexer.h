#pragma once
// Splits a Jinja template into text and the tokens inside {{ }}, {% %} tags (comments {# #}
// vanish), applying whitespace control: "-" on a tag side strips all whitespace on that side;
// with trim_blocks the first newline after a block tag is removed, and with lstrip_blocks spaces
// and tabs before a block tag at the start of a line are removed ("+" turns that off). Hugging
// Face renders chat templates with both options on.
#include <string>
#include <vector>

namespace s0::jinja {

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
  Tok kind;
  std::string text;  // the text, name, operator, or the literal's value (strings unescaped)
  int line = 1, col = 1;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Errors name `origin` with the line and column.
std::vector<Token> lex(const std::string& source, const std::string& origin, LexOptions options = {});

}  // namespace s0::jinja
