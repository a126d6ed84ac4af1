#pragma once
// Executes a parsed template body.
#include <string>

#include "tokenizer/jinja/ast.h"

namespace s0::jinja {

// Renders `body` with `globals` visible (under the builtin functions); runtime errors are
// s0::Error naming `origin`, line and column.
std::string execute(const Body& body, const Dict& globals, const std::string& origin);

}  // namespace s0::jinja
