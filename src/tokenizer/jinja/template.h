#pragma once
// A parsed Jinja template, rendered with Python Jinja2's semantics as Hugging Face configures it
// for chat templates (trim_blocks, lstrip_blocks, default Undefined, loop controls).
//
// Undefined values follow Jinja2: printing one gives "", it is false, `is defined` is false and
// `|default` replaces it; reading an attribute or item of it, calling it, doing arithmetic with
// it, or iterating it in a for loop is an error naming the template line and column.
#include <memory>
#include <string>

#include "io/json.h"
#include "tokenizer/jinja/ast.h"

namespace s0::jinja {

class Template {
 public:
  // Parses `source`; syntax errors (and unknown filters or tests, as Jinja2 reports them at
  // compile time) are s0::Error naming `origin`, the line and the column.
  Template(const std::string& source, std::string origin);
  // Renders with the members of `variables` (a JSON object) as global variables.
  std::string render(const OrderedJson& variables) const;

 private:
  std::string origin_;
  std::shared_ptr<const Body> body_;
};

}  // namespace s0::jinja
