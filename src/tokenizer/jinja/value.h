#pragma once
// Runtime values of the template engine, with Python's semantics where Jinja borrows them:
// truthiness, equality, ordering, str() / repr() and json.dumps formatting. Lists, dicts and
// namespaces are shared by reference, as Python objects are.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/json.h"

namespace s0::jinja {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // keeps insertion order, like Python
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(std::vector<Value>& args, Kwargs& kwargs)>;
// Template variables keep the key order they were written in (Python dicts do, and tojson shows
// it), so they arrive as ordered JSON; s0::Json converts to it implicitly.
using OrderedJson = nlohmann::ordered_json;

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // String; for Undefined, the description used in error messages
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;  // Dict and Namespace
  std::shared_ptr<Function> fn;

  static Value undefined(std::string what) { Value v; v.s = std::move(what); return v; }
  static Value none() { Value v; v.kind = Kind::None; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::Float; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::String; v.s = std::move(x); return v; }
  static Value make_list(List items = {}) { Value v; v.kind = Kind::List; v.list = std::make_shared<List>(std::move(items)); return v; }
  static Value make_dict(Dict items = {}) { Value v; v.kind = Kind::Dict; v.dict = std::make_shared<Dict>(std::move(items)); return v; }
  static Value make_namespace(Dict items) { Value v = make_dict(std::move(items)); v.kind = Kind::Namespace; return v; }
  static Value function(Function f) { Value v; v.kind = Kind::Function; v.fn = std::make_shared<Function>(std::move(f)); return v; }
  static Value from_json(const OrderedJson& j);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_mapping() const { return kind == Kind::Dict || kind == Kind::Namespace; }
  double as_double() const { return kind == Kind::Float ? f : kind == Kind::Bool ? b : static_cast<double>(i); }

  // Dict / namespace lookup; nullptr when absent.
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
};

const char* type_name(const Value& v);  // Python's name for the type, for error messages
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
// -1, 0, 1; false in `ok` when the values are not ordered against each other.
int compare(const Value& a, const Value& b, bool& ok);
std::string to_str(const Value& v);   // str(v); Undefined prints as ""
std::string repr(const Value& v);     // repr(v)
std::string format_float(double x);   // Python's repr of a float
// json.dumps(v, ensure_ascii=False, indent=indent, sort_keys=...): ", " and ": " separators
// without indent, "," and ": " with it. Fails on values JSON cannot hold.
std::string to_json(const Value& v, int indent, bool sort_keys, const std::function<void(const std::string&)>& error);

}  // namespace s0::jinja
