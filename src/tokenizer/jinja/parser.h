#pragma once
// Recursive-descent parser over the lexer's tokens, with Jinja's precedence (lowest first):
// conditional expression, or, and, not, comparisons and in / not in, + -, ~, * / // %, **,
// unary - +, then primaries with postfix .attr [index] [a:b:c] (call) | filter and "is" tests.
#include <string>

#include "tokenizer/jinja/ast.h"

namespace s0::jinja {

// Parses a whole template; errors name `origin` with the line and column of the bad token.
Body parse(const std::string& source, const std::string& origin);

}  // namespace s0::jinja
