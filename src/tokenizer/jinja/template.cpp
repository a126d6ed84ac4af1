#include "tokenizer/jinja/template.h"

#include "core/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/parser.h"

namespace s0::jinja {
namespace {

// Jinja2 rejects unknown filters and tests when compiling; so do we, before any rendering.
void check_names(const Expr* e, const std::string& origin) {
  if (!e) return;
  if (e->kind == Expr::Kind::Filter && !has_filter(e->name)) {
    fail(origin, ": template line ", e->line, ", column ", e->col, ": no filter named '", e->name, "'");
  }
  if (e->kind == Expr::Kind::Test && !has_test(e->name)) {
    fail(origin, ": template line ", e->line, ", column ", e->col, ": no test named '", e->name, "'");
  }
  for (const auto& a : e->args) check_names(a.get(), origin);
  for (const auto& kv : e->kwargs) check_names(kv.second.get(), origin);
}

void check_names(const Body& body, const std::string& origin) {
  for (const auto& s : body) {
    check_names(s->expr.get(), origin);
    check_names(s->target.get(), origin);
    check_names(s->cond.get(), origin);
    for (const auto& d : s->defaults) check_names(d.get(), origin);
    for (const auto& [cond, b] : s->branches) {
      check_names(cond.get(), origin);
      check_names(b, origin);
    }
    check_names(s->body, origin);
    check_names(s->else_body, origin);
  }
}

}  // namespace

Template::Template(const std::string& source, std::string origin)
    : origin_(std::move(origin)), body_(std::make_shared<Body>(parse(source, origin_))) {
  check_names(*body_, origin_);
}

std::string Template::render(const OrderedJson& variables) const {
  Dict vars;
  if (!variables.is_null()) {
    if (!variables.is_object()) fail(origin_, ": template variables must be a JSON object");
    for (const auto& [k, v] : variables.items()) vars.emplace_back(k, Value::from_json(v));
  }
  return execute(*body_, vars, origin_);
}

}  // namespace s0::jinja
