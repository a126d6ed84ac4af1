#pragma once
// The syntax tree of a parsed template. Every node keeps its line and column for error messages.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace s0::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,  // value
    Name,     // name
    List,     // args: items (tuples are lists too)
    Dict,     // args: key, value, key, value, ...
    Attr,     // args[0].name
    Index,    // args[0][args[1]]
    Slice,    // args[0][args[1]:args[2]:args[3]], absent parts null
    Call,     // args[0](args[1..], kwargs)
    Filter,   // args[0] | name(args[1..], kwargs)
    Test,     // args[0] is [not] name(args[1..])
    Unary,    // name ("-", "+", "not") args[0]
    Binary,   // args[0] name args[1]; name is an operator, "in", "not in", "and", "or"
    Cond,     // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind;
  int line = 0, col = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;  // Test: "is not"
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    Text,      // text
    Output,    // {{ expr }}
    If,        // branches (cond, body) then else_body
    For,       // for names in expr [if cond] body [else else_body]
    Set,       // set target = expr (target: Name, Attr of a namespace, or List of Names)
    SetBlock,  // set names[0] %} body {% endset
    Macro,     // macro names[0](names[1..] with defaults) body
    Break,
    Continue,
    Block,     // a body rendered in place ({% generation %} ... {% endgeneration %})
  };
  Kind kind;
  int line = 0, col = 0;
  std::string text;
  ExprPtr expr, target, cond;
  std::vector<std::string> names;
  std::vector<ExprPtr> defaults;  // Macro: one per parameter (null when none)
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
};

}  // namespace s0::jinja
