#include "tokenizer/jinja/parser.h"

#include <initializer_list>

#include "core/error.h"
#include "tokenizer/jinja/lexer.h"

namespace s0::jinja {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& origin) : toks_(std::move(tokens)), origin_(origin) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  const Token& peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& advance() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "end of template";
      case Tok::VarEnd: return "'}}'";
      case Tok::BlockEnd: return "'%}'";
      case Tok::String: return "string literal";
      case Tok::Text: return "text";
      default: return "'" + t.text + "'";
    }
  }

  [[noreturn]] void error(const Token& t, const std::string& what) const {
    fail(origin_, ": template line ", t.line, ", column ", t.col, ": ", what);
  }

  bool at_op(const char* op, size_t ahead = 0) const { return peek(ahead).kind == Tok::Op && peek(ahead).text == op; }
  bool at_name(const char* name, size_t ahead = 0) const { return peek(ahead).kind == Tok::Name && peek(ahead).text == name; }
  void expect_op(const char* op) {
    if (!at_op(op)) error(peek(), std::string("expected '") + op + "', got " + describe(peek()));
    advance();
  }
  std::string expect_name() {
    if (peek().kind != Tok::Name) error(peek(), "expected a name, got " + describe(peek()));
    return advance().text;
  }
  void expect_block_end() {
    if (peek().kind != Tok::BlockEnd) error(peek(), "expected '%}', got " + describe(peek()));
    advance();
  }

  ExprPtr node(Expr::Kind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->col = at.col;
    return e;
  }

  // Statements up to one of `ends` (a block tag name); its name lands in `end`, positioned after
  // the tag name. With no `ends`, runs to the end of the template.
  Body parse_body(std::initializer_list<const char*> ends, std::string& end) {
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::End) {
        if (ends.size()) error(t, std::string("expected '") + *(ends.end() - 1) + "' before end of template");
        return body;
      }
      if (t.kind == Tok::Text) {
        auto s = stmt(Stmt::Kind::Text, t);
        s->text = advance().text;
        body.push_back(std::move(s));
      } else if (t.kind == Tok::VarBegin) {
        auto s = stmt(Stmt::Kind::Output, advance());
        s->expr = parse_expression();
        if (peek().kind != Tok::VarEnd) error(peek(), "expected '}}', got " + describe(peek()));
        advance();
        body.push_back(std::move(s));
      } else {
        advance();  // {%
        const Token& name = peek();
        if (name.kind != Tok::Name) error(name, "expected a tag name, got " + describe(name));
        for (const char* e : ends) {
          if (name.text == e) {
            end = advance().text;
            return body;
          }
        }
        body.push_back(parse_statement());
      }
    }
  }

  std::unique_ptr<Stmt> stmt(Stmt::Kind kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->col = at.col;
    return s;
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& tag = advance();
    const std::string& name = tag.text;
    std::string end;
    if (name == "if") {
      auto s = stmt(Stmt::Kind::If, tag);
      ExprPtr cond = parse_expression();
      expect_block_end();
      while (true) {
        Body body = parse_body({"elif", "else", "endif"}, end);
        s->branches.emplace_back(std::move(cond), std::move(body));
        if (end == "elif") {
          cond = parse_expression();
          expect_block_end();
          continue;
        }
        expect_block_end();
        if (end == "else") {
          s->else_body = parse_body({"endif"}, end);
          expect_block_end();
        }
        return s;
      }
    }
    if (name == "for") {
      auto s = stmt(Stmt::Kind::For, tag);
      s->names.push_back(expect_name());
      while (at_op(",")) {
        advance();
        s->names.push_back(expect_name());
      }
      if (!at_name("in")) error(peek(), "expected 'in', got " + describe(peek()));
      advance();
      s->expr = parse_or();  // not a conditional expression: a trailing "if" filters the loop
      if (at_name("if")) {
        advance();
        s->cond = parse_expression();
      }
      if (at_name("recursive")) error(peek(), "recursive for loops are not supported");
      expect_block_end();
      s->body = parse_body({"else", "endfor"}, end);
      expect_block_end();
      if (end == "else") {
        s->else_body = parse_body({"endfor"}, end);
        expect_block_end();
      }
      return s;
    }
    if (name == "set") {
      const Token& at = peek();
      ExprPtr target = parse_primary();
      if (target->kind == Expr::Kind::Name && at_op(".")) {  // set ns.attr = ...
        auto attr = node(Expr::Kind::Attr, advance());
        attr->args.push_back(std::move(target));
        attr->name = expect_name();
        target = std::move(attr);
      }
      if (target->kind == Expr::Kind::Name && at_op(",")) {
        auto list = node(Expr::Kind::List, at);
        list->args.push_back(std::move(target));
        while (at_op(",")) {
          advance();
          list->args.push_back(parse_primary());
        }
        target = std::move(list);
      }
      if (target->kind == Expr::Kind::Name && peek().kind == Tok::BlockEnd) {
        auto s = stmt(Stmt::Kind::SetBlock, tag);
        s->names.push_back(target->name);
        advance();
        s->body = parse_body({"endset"}, end);
        expect_block_end();
        return s;
      }
      bool ok = target->kind == Expr::Kind::Name || target->kind == Expr::Kind::Attr;
      if (target->kind == Expr::Kind::List) {
        ok = true;
        for (const auto& a : target->args) ok &= a->kind == Expr::Kind::Name;
      }
      if (!ok) error(at, "cannot assign to this expression");
      auto s = stmt(Stmt::Kind::Set, tag);
      s->target = std::move(target);
      expect_op("=");
      s->expr = parse_tuple_or_expression();
      expect_block_end();
      return s;
    }
    if (name == "macro") {
      auto s = stmt(Stmt::Kind::Macro, tag);
      s->names.push_back(expect_name());
      expect_op("(");
      while (!at_op(")")) {
        s->names.push_back(expect_name());
        ExprPtr def;
        if (at_op("=")) {
          advance();
          def = parse_expression();
        }
        s->defaults.push_back(std::move(def));
        if (!at_op(")")) expect_op(",");
      }
      advance();
      expect_block_end();
      s->body = parse_body({"endmacro"}, end);
      expect_block_end();
      return s;
    }
    if (name == "break" || name == "continue") {
      auto s = stmt(name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, tag);
      expect_block_end();
      return s;
    }
    if (name == "generation") {
      auto s = stmt(Stmt::Kind::Block, tag);
      expect_block_end();
      s->body = parse_body({"endgeneration"}, end);
      expect_block_end();
      return s;
    }
    error(tag, "unknown or unsupported tag '" + name + "'");
  }

  // "a, b" without brackets is a tuple where Jinja allows one (set values).
  ExprPtr parse_tuple_or_expression() {
    const Token& at = peek();
    ExprPtr first = parse_expression();
    if (!at_op(",")) return first;
    auto list = node(Expr::Kind::List, at);
    list->args.push_back(std::move(first));
    while (at_op(",")) {
      advance();
      list->args.push_back(parse_expression());
    }
    return list;
  }

  ExprPtr parse_expression() {
    ExprPtr e = parse_or();
    while (at_name("if")) {
      const Token& at = advance();
      auto c = node(Expr::Kind::Cond, at);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      if (at_name("else")) {
        advance();
        c->args.push_back(parse_expression());
      } else {
        c->args.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const Token& at, const std::string& op, ExprPtr a, ExprPtr b) {
    auto e = node(Expr::Kind::Binary, at);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (at_name("or")) {
      const Token& at = advance();
      e = binary(at, "or", std::move(e), parse_and());
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (at_name("and")) {
      const Token& at = advance();
      e = binary(at, "and", std::move(e), parse_not());
    }
    return e;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      const Token& at = advance();
      auto e = node(Expr::Kind::Unary, at);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr e = parse_add();
    while (true) {
      const Token& at = peek();
      std::string op;
      if (at.kind == Tok::Op && (at.text == "==" || at.text == "!=" || at.text == "<" || at.text == ">" ||
                                 at.text == "<=" || at.text == ">=")) {
        op = at.text;
        advance();
      } else if (at_name("in")) {
        op = "in";
        advance();
      } else if (at_name("not") && at_name("in", 1)) {
        op = "not in";
        advance();
        advance();
      } else {
        return e;
      }
      e = binary(at, op, std::move(e), parse_add());
    }
  }

  template <typename Next>
  ExprPtr left_assoc(std::initializer_list<const char*> ops, Next next) {
    ExprPtr e = (this->*next)();
    while (true) {
      const char* hit = nullptr;
      for (const char* op : ops) if (at_op(op)) hit = op;
      if (!hit) return e;
      const Token& at = advance();
      e = binary(at, hit, std::move(e), (this->*next)());
    }
  }
  ExprPtr parse_add() { return left_assoc({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return left_assoc({"~"}, &Parser::parse_mul); }
  ExprPtr parse_mul() { return left_assoc({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return left_assoc({"**"}, &Parser::parse_unary); }

  ExprPtr parse_unary() {
    if (at_op("-") || at_op("+")) {
      const Token& at = advance();
      auto e = node(Expr::Kind::Unary, at);
      e->name = at.text;
      e->args.push_back(parse_unary());
      return e;
    }
    return parse_postfix_and_filters(parse_primary());
  }

  // Call arguments after "(": positional then name=value.
  void parse_arguments(Expr& call) {
    expect_op("(");
    while (!at_op(")")) {
      if (peek().kind == Tok::Name && at_op("=", 1)) {
        std::string key = advance().text;
        advance();
        call.kwargs.emplace_back(key, parse_expression());
      } else {
        if (!call.kwargs.empty()) error(peek(), "positional argument after keyword argument");
        call.args.push_back(parse_expression());
      }
      if (!at_op(")")) expect_op(",");
    }
    advance();
  }

  ExprPtr parse_postfix_and_filters(ExprPtr e) {
    while (true) {
      const Token& at = peek();
      if (at_op(".")) {
        advance();
        auto a = node(Expr::Kind::Attr, at);
        if (peek().kind == Tok::Int) a->kind = Expr::Kind::Index, a->args.push_back(nullptr);
        a->args.insert(a->args.begin(), std::move(e));
        if (a->kind == Expr::Kind::Index) {
          auto lit = node(Expr::Kind::Literal, peek());
          lit->value = Value::integer(std::stoll(advance().text));
          a->args[1] = std::move(lit);
        } else {
          a->name = expect_name();
        }
        e = std::move(a);
      } else if (at_op("[")) {
        advance();
        e = parse_subscript(std::move(e), at);
      } else if (at_op("(")) {
        auto c = node(Expr::Kind::Call, at);
        c->args.push_back(std::move(e));
        parse_arguments(*c);
        e = std::move(c);
      } else if (at_op("|")) {
        advance();
        auto f = node(Expr::Kind::Filter, peek());
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (at_op("(")) parse_arguments(*f);
        e = std::move(f);
      } else if (at_name("is")) {
        advance();
        auto t = node(Expr::Kind::Test, peek());
        if (at_name("not")) {
          advance();
          t->negated = true;
        }
        // "none", "true" and "false" lex as names here, which is what tests are called.
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (at_op("(")) {
          parse_arguments(*t);
        } else if (peek().kind == Tok::String || peek().kind == Tok::Int || peek().kind == Tok::Float ||
                   (peek().kind == Tok::Name && !at_name("and") && !at_name("or") && !at_name("if") &&
                    !at_name("else") && !at_name("in") && !at_name("not") && !at_name("is"))) {
          t->args.push_back(parse_primary());  // "x is divisibleby 3", "x is sameas none"
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, const Token& at) {
    ExprPtr parts[3];
    int n = 0;
    bool slice = false;
    while (true) {
      if (!at_op(":") && !at_op("]")) parts[n] = parse_expression();
      if (at_op(":")) {
        if (n == 2) error(peek(), "too many ':' in slice");
        slice = true;
        advance();
        ++n;
        continue;
      }
      expect_op("]");
      break;
    }
    auto e = node(slice ? Expr::Kind::Slice : Expr::Kind::Index, at);
    e->args.push_back(std::move(obj));
    if (!slice && !parts[0]) error(at, "empty subscript");
    for (int k = 0; k < (slice ? 3 : 1); ++k) e->args.push_back(std::move(parts[k]));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::String: {
        auto e = node(Expr::Kind::Literal, t);
        std::string s = advance().text;
        while (peek().kind == Tok::String) s += advance().text;  // adjacent literals concatenate
        e->value = Value::string(s);
        return e;
      }
      case Tok::Int: {
        auto e = node(Expr::Kind::Literal, t);
        e->value = Value::integer(std::stoll(advance().text));
        return e;
      }
      case Tok::Float: {
        auto e = node(Expr::Kind::Literal, t);
        e->value = Value::number(std::stod(advance().text));
        return e;
      }
      case Tok::Name: {
        auto e = node(Expr::Kind::Literal, t);
        const std::string& n = t.text;
        if (n == "true" || n == "True") e->value = Value::boolean(true);
        else if (n == "false" || n == "False") e->value = Value::boolean(false);
        else if (n == "none" || n == "None") e->value = Value::none();
        else {
          e->kind = Expr::Kind::Name;
          e->name = n;
        }
        advance();
        return e;
      }
      case Tok::Op:
        if (t.text == "(") {
          advance();
          if (at_op(")")) {
            advance();
            return node(Expr::Kind::List, t);
          }
          ExprPtr first = parse_expression();
          if (at_op(")")) {
            advance();
            return first;
          }
          auto list = node(Expr::Kind::List, t);
          list->args.push_back(std::move(first));
          while (at_op(",")) {
            advance();
            if (at_op(")")) break;
            list->args.push_back(parse_expression());
          }
          expect_op(")");
          return list;
        }
        if (t.text == "[") {
          advance();
          auto list = node(Expr::Kind::List, t);
          while (!at_op("]")) {
            list->args.push_back(parse_expression());
            if (!at_op("]")) expect_op(",");
          }
          advance();
          return list;
        }
        if (t.text == "{") {
          advance();
          auto dict = node(Expr::Kind::Dict, t);
          while (!at_op("}")) {
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
            if (!at_op("}")) expect_op(",");
          }
          advance();
          return dict;
        }
        break;
      default:
        break;
    }
    error(t, "unexpected " + describe(t));
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  const std::string& origin_;
};

}  // namespace

Body parse(const std::string& source, const std::string& origin) {
  return Parser(lex(source, origin), origin).parse_template();
}

}  // namespace s0::jinja
