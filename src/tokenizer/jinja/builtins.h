#pragma once
// Jinja's filters, tests, global functions and the Python methods templates call on strings,
// lists and dicts. A builtin signals a runtime problem by throwing RuntimeError; the interpreter
// adds the template position.
#include <functional>
#include <string>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace s0::jinja {

struct RuntimeError {
  std::string message;
};

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& subject, std::vector<Value>& args, Kwargs& kwargs);
bool apply_test(const std::string& name, const Value& subject, std::vector<Value>& args);
// obj.name(args): str, list and dict methods; nothing if obj has no such method.
bool call_method(const Value& obj, const std::string& name, std::vector<Value>& args, Kwargs& kwargs, Value& result);
// Global functions: range, namespace, dict, raise_exception, strftime_now.
Dict global_functions();

// Python semantics shared with the interpreter.
std::vector<Value> iterate(const Value& v);  // list items, dict keys, string characters
Value slice(const Value& v, const Value& start, const Value& stop, const Value& step);
Value index(const Value& v, const Value& key);  // Undefined when missing
bool contains(const Value& container, const Value& item);

}  // namespace s0::jinja
