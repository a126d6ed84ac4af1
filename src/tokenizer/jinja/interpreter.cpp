#include "tokenizer/jinja/interpreter.h"

#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/jinja/builtins.h"

namespace s0::jinja {
namespace {

class Interpreter {
 public:
  Interpreter(const Dict& globals, const std::string& origin) : origin_(origin) {
    scopes_.emplace_back();
    for (auto& [k, v] : global_functions()) scopes_.back()[k] = v;
    scopes_.emplace_back();
    for (const auto& [k, v] : globals) scopes_.back()[k] = v;
  }

  void run(const Body& body, std::string& out) {
    for (const auto& s : body) {
      exec(*s, out);
      if (flow_ != Flow::Normal) return;
    }
  }

 private:
  enum class Flow { Normal, Break, Continue };
  using Scope = std::unordered_map<std::string, Value>;

  [[noreturn]] void error(int line, int col, const std::string& what) const {
    fail(origin_, ": template line ", line, ", column ", col, ": ", what);
  }
  template <typename Node>
  [[noreturn]] void error(const Node& n, const std::string& what) const {
    error(n.line, n.col, what);
  }

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (auto f = it->find(name); f != it->end()) return f->second;
    }
    return Value::undefined("'" + name + "' is undefined");
  }

  // Runs `f`, turning a builtin's RuntimeError into an error at `n`.
  template <typename Node, typename F>
  auto at(const Node& n, F&& f) {
    try {
      return f();
    } catch (const RuntimeError& e) {
      error(n, e.message);
    }
  }

  void exec(const Stmt& s, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text: out += s.text; return;
      case Stmt::Kind::Output: out += to_str(eval(*s.expr)); return;
      case Stmt::Kind::If:
        for (const auto& [cond, body] : s.branches) {
          if (truthy(eval(*cond))) return run(body, out);
        }
        return run(s.else_body, out);
      case Stmt::Kind::For: return exec_for(s, out);
      case Stmt::Kind::Set: return assign(*s.target, eval(*s.expr));
      case Stmt::Kind::SetBlock: {
        std::string captured;
        run(s.body, captured);
        scopes_.back()[s.names[0]] = Value::string(captured);
        return;
      }
      case Stmt::Kind::Macro: return define_macro(s);
      case Stmt::Kind::Break: flow_ = Flow::Break; return;
      case Stmt::Kind::Continue: flow_ = Flow::Continue; return;
      case Stmt::Kind::Block: return run(s.body, out);
    }
  }

  void assign(const Expr& target, const Value& v) {
    if (target.kind == Expr::Kind::Name) {
      scopes_.back()[target.name] = v;
    } else if (target.kind == Expr::Kind::Attr) {
      Value obj = eval(*target.args[0]);
      if (obj.kind != Value::Kind::Namespace) error(target, "cannot assign attribute on non-namespace object");
      obj.set(target.name, v);
    } else {  // tuple of names
      std::vector<Value> items = at(target, [&] { return iterate(v); });
      if (items.size() != target.args.size()) {
        error(target, "cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(target.args.size()));
      }
      for (size_t k = 0; k < items.size(); ++k) assign(*target.args[k], items[k]);
    }
  }

  // Each iteration runs in its own scope (so a plain `set` inside the loop does not leak out,
  // as in Jinja2), with `loop` describing the position.
  void exec_for(const Stmt& s, std::string& out) {
    Value iterable = eval(*s.expr);
    std::vector<Value> all = at(*s.expr, [&] { return iterate(iterable); });
    std::vector<Value> items;
    for (Value& item : all) {
      if (s.cond) {
        scopes_.emplace_back();
        bind_targets(s, item);
        bool keep = truthy(eval(*s.cond));
        scopes_.pop_back();
        if (!keep) continue;
      }
      items.push_back(std::move(item));
    }
    if (items.empty()) return run(s.else_body, out);
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < n; ++k) {
      scopes_.emplace_back();
      Dict loop = {
          {"index0", Value::integer(k)},
          {"index", Value::integer(k + 1)},
          {"revindex0", Value::integer(n - k - 1)},
          {"revindex", Value::integer(n - k)},
          {"first", Value::boolean(k == 0)},
          {"last", Value::boolean(k == n - 1)},
          {"length", Value::integer(n)},
          {"previtem", k > 0 ? items[k - 1] : Value::undefined("there is no previous item")},
          {"nextitem", k + 1 < n ? items[k + 1] : Value::undefined("there is no next item")},
      };
      scopes_.back()["loop"] = Value::make_dict(std::move(loop));
      bind_targets(s, items[k]);
      run(s.body, out);
      scopes_.pop_back();
      if (flow_ == Flow::Break) {
        flow_ = Flow::Normal;
        break;
      }
      flow_ = Flow::Normal;
    }
  }

  void bind_targets(const Stmt& s, const Value& item) {
    if (s.names.size() == 1) {
      scopes_.back()[s.names[0]] = item;
      return;
    }
    std::vector<Value> parts = at(s, [&] { return iterate(item); });
    if (parts.size() != s.names.size()) {
      error(s, "cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(s.names.size()) + " loop variables");
    }
    for (size_t k = 0; k < parts.size(); ++k) scopes_.back()[s.names[k]] = parts[k];
  }

  // A macro is a function value rendering its body in a fresh scope over the current ones.
  void define_macro(const Stmt& s) {
    const Stmt* def = &s;
    scopes_.back()[s.names[0]] = Value::function([this, def](std::vector<Value>& args, Kwargs& kwargs) {
      size_t nparams = def->names.size() - 1;
      if (args.size() > nparams) throw RuntimeError{"macro '" + def->names[0] + "' takes " + std::to_string(nparams) + " arguments"};
      scopes_.emplace_back();
      for (size_t k = 0; k < nparams; ++k) {
        const std::string& p = def->names[k + 1];
        Value v = k < args.size() ? args[k] : def->defaults[k] ? eval(*def->defaults[k]) : Value::undefined("'" + p + "' is undefined");
        for (auto& [key, kv] : kwargs) if (key == p) v = kv;
        scopes_.back()[p] = v;
      }
      std::string out;
      run(def->body, out);
      flow_ = Flow::Normal;
      scopes_.pop_back();
      return Value::string(out);
    });
  }

  void eval_args(const Expr& e, size_t first, std::vector<Value>& args, Kwargs& kwargs) {
    for (size_t k = first; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
    for (const auto& [name, x] : e.kwargs) kwargs.emplace_back(name, eval(*x));
  }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: return lookup(e.name);
      case Expr::Kind::List: {
        List items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        return Value::make_list(std::move(items));
      }
      case Expr::Kind::Dict: {
        Value d = Value::make_dict();
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          Value key = eval(*e.args[k]);
          if (!key.is_string()) error(*e.args[k], "dict keys must be strings");
          d.set(key.s, eval(*e.args[k + 1]));
        }
        return d;
      }
      case Expr::Kind::Attr: {
        Value obj = eval(*e.args[0]);
        return at(e, [&] { return index(obj, Value::string(e.name)); });
      }
      case Expr::Kind::Index: {
        Value obj = eval(*e.args[0]);
        Value key = eval(*e.args[1]);
        return at(e, [&] { return index(obj, key); });
      }
      case Expr::Kind::Slice: {
        Value obj = eval(*e.args[0]);
        Value parts[3];
        for (int k = 0; k < 3; ++k) parts[k] = e.args[k + 1] ? eval(*e.args[k + 1]) : Value::none();
        return at(e, [&] {
          if (obj.is_undefined()) throw RuntimeError{obj.s};
          return slice(obj, parts[0], parts[1], parts[2]);
        });
      }
      case Expr::Kind::Call: return eval_call(e);
      case Expr::Kind::Filter: {
        Value subject = eval(*e.args[0]);
        std::vector<Value> args;
        Kwargs kwargs;
        eval_args(e, 1, args, kwargs);
        return at(e, [&] { return apply_filter(e.name, subject, args, kwargs); });
      }
      case Expr::Kind::Test: {
        Value subject = eval(*e.args[0]);
        std::vector<Value> args;
        Kwargs kwargs;
        eval_args(e, 1, args, kwargs);
        return Value::boolean(at(e, [&] { return apply_test(e.name, subject, args); }) != e.negated);
      }
      case Expr::Kind::Unary: {
        Value x = eval(*e.args[0]);
        if (e.name == "not") return Value::boolean(!truthy(x));
        if (x.kind == Value::Kind::Int) return e.name == "-" ? Value::integer(-x.i) : x;
        if (x.kind == Value::Kind::Float) return e.name == "-" ? Value::number(-x.f) : x;
        if (x.is_undefined()) error(e, x.s);
        error(e, "bad operand type for unary " + e.name + ": '" + type_name(x) + "'");
      }
      case Expr::Kind::Binary: return eval_binary(e);
      case Expr::Kind::Cond:
        if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value::undefined("the conditional expression had no else");
    }
    error(e, "unknown expression");
  }

  Value eval_call(const Expr& e) {
    const Expr& callee = *e.args[0];
    std::vector<Value> args;
    Kwargs kwargs;
    if (callee.kind == Expr::Kind::Attr) {
      // obj.method(...): Python methods of str / dict come first, then a callable attribute.
      Value obj = eval(*callee.args[0]);
      if (obj.is_undefined()) error(callee, obj.s);
      eval_args(e, 1, args, kwargs);
      Value result;
      if (at(e, [&] { return call_method(obj, callee.name, args, kwargs, result); })) return result;
      Value fn = at(callee, [&] { return index(obj, Value::string(callee.name)); });
      return invoke(e, fn, args, kwargs);
    }
    Value fn = eval(callee);
    eval_args(e, 1, args, kwargs);
    return invoke(e, fn, args, kwargs);
  }

  Value invoke(const Expr& e, const Value& fn, std::vector<Value>& args, Kwargs& kwargs) {
    if (fn.is_undefined()) error(e, fn.s);
    if (fn.kind != Value::Kind::Function) error(e, std::string("'") + type_name(fn) + "' object is not callable");
    return at(e, [&] { return (*fn.fn)(args, kwargs); });
  }

  Value eval_binary(const Expr& e) {
    const std::string& op = e.name;
    Value a = eval(*e.args[0]);
    if (op == "and") return truthy(a) ? eval(*e.args[1]) : a;
    if (op == "or") return truthy(a) ? a : eval(*e.args[1]);
    Value b = eval(*e.args[1]);
    if (op == "==") return Value::boolean(equals(a, b));
    if (op == "!=") return Value::boolean(!equals(a, b));
    if (op == "~") return Value::string(to_str(a) + to_str(b));
    if (op == "in" || op == "not in") return Value::boolean(at(e, [&] { return contains(b, a); }) == (op == "in"));
    // Everything below is an error on Undefined, as in Jinja2.
    if (a.is_undefined()) error(e, a.s);
    if (b.is_undefined()) error(e, b.s);
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      bool ok;
      int c = compare(a, b, ok);
      if (!ok) error(e, "'" + op + "' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
      return Value::boolean(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
      if (a.kind == Value::Kind::List && b.kind == Value::Kind::List) {
        List items = *a.list;
        items.insert(items.end(), b.list->begin(), b.list->end());
        return Value::make_list(std::move(items));
      }
    }
    if (op == "*" && (a.is_string() || a.kind == Value::Kind::List) && b.kind == Value::Kind::Int) {
      if (a.is_string()) {
        std::string s;
        for (int64_t k = 0; k < b.i; ++k) s += a.s;
        return Value::string(s);
      }
      List items;
      for (int64_t k = 0; k < b.i; ++k) items.insert(items.end(), a.list->begin(), a.list->end());
      return Value::make_list(std::move(items));
    }
    if (!a.is_number() || !b.is_number()) {
      error(e, "unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
    }
    bool ints = a.kind != Value::Kind::Float && b.kind != Value::Kind::Float;
    double x = a.as_double(), y = b.as_double();
    int64_t xi = a.kind == Value::Kind::Bool ? a.b : a.i, yi = b.kind == Value::Kind::Bool ? b.b : b.i;
    if ((op == "/" || op == "//" || op == "%") && y == 0) error(e, "division by zero");
    if (op == "+") return ints ? Value::integer(xi + yi) : Value::number(x + y);
    if (op == "-") return ints ? Value::integer(xi - yi) : Value::number(x - y);
    if (op == "*") return ints ? Value::integer(xi * yi) : Value::number(x * y);
    if (op == "/") return Value::number(x / y);
    if (op == "//") {
      if (ints) {
        int64_t q = xi / yi;
        return Value::integer((xi % yi != 0 && ((xi < 0) != (yi < 0))) ? q - 1 : q);
      }
      return Value::number(std::floor(x / y));
    }
    if (op == "%") {
      if (ints) {
        int64_t r = xi % yi;
        return Value::integer(r != 0 && ((r < 0) != (yi < 0)) ? r + yi : r);
      }
      double r = std::fmod(x, y);
      return Value::number(r != 0 && ((r < 0) != (y < 0)) ? r + y : r);
    }
    if (op == "**") {
      if (ints && yi >= 0) {
        int64_t r = 1;
        for (int64_t k = 0; k < yi; ++k) r *= xi;
        return Value::integer(r);
      }
      return Value::number(std::pow(x, y));
    }
    error(e, "unknown operator " + op);
  }

  const std::string& origin_;
  std::vector<Scope> scopes_;
  Flow flow_ = Flow::Normal;
};

}  // namespace

std::string execute(const Body& body, const Dict& globals, const std::string& origin) {
  Interpreter interp(globals, origin);
  std::string out;
  interp.run(body, out);
  return out;
}

}  // namespace s0::jinja
