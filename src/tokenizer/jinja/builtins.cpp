#include "tokenizer/jinja/builtins.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace s0::jinja {
namespace {

[[noreturn]] void raise(const std::string& what) { throw RuntimeError{what}; }

// Python's str.isspace() for one code point.
bool py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

const std::string& str_arg(const std::vector<Value>& args, size_t k, const char* fn) {
  if (k >= args.size() || !args[k].is_string()) raise(std::string(fn) + "() expects a string argument");
  return args[k].s;
}

const Value* kwarg(const Kwargs& kwargs, const char* name) {
  for (const auto& [k, v] : kwargs) if (k == name) return &v;
  return nullptr;
}

// Positional argument k, else keyword `name`, else nullptr.
const Value* arg(const std::vector<Value>& args, const Kwargs& kwargs, size_t k, const char* name) {
  return k < args.size() ? &args[k] : kwarg(kwargs, name);
}

std::string map_chars(const std::string& s, utf8proc_int32_t (*f)(utf8proc_int32_t)) {
  std::string out;
  for (size_t i = 0; i < s.size();) utf8::append(out, static_cast<char32_t>(f(static_cast<utf8proc_int32_t>(utf8::next(s, i)))));
  return out;
}

std::string strip(const std::string& s, const Value* chars, bool left, bool right) {
  std::u32string u = utf8::to_u32(s);
  std::u32string set;
  bool by_set = chars && !chars->is_none() && !chars->is_undefined();
  if (by_set) {
    if (!chars->is_string()) raise("strip arg must be None or str");
    set = utf8::to_u32(chars->s);
  }
  auto drop = [&](char32_t c) { return by_set ? set.find(c) != std::u32string::npos : py_space(c); };
  size_t b = 0, e = u.size();
  if (left) while (b < e && drop(u[b])) ++b;
  if (right) while (e > b && drop(u[e - 1])) --e;
  return utf8::from_u32(std::u32string_view(u).substr(b, e - b));
}

Value split(const std::string& s, const Value* sep, const Value* maxsplit_v) {
  int64_t maxsplit = maxsplit_v && maxsplit_v->kind == Value::Kind::Int ? maxsplit_v->i : -1;
  List parts;
  if (!sep || sep->is_none()) {
    // Runs of whitespace separate; leading and trailing whitespace yield nothing.
    std::u32string u = utf8::to_u32(s);
    size_t i = 0;
    while (true) {
      while (i < u.size() && py_space(u[i])) ++i;
      if (i >= u.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t e = u.size();
        while (e > i && py_space(u[e - 1])) --e;
        parts.push_back(Value::string(utf8::from_u32(u.substr(i, e - i))));
        break;
      }
      size_t b = i;
      while (i < u.size() && !py_space(u[i])) ++i;
      parts.push_back(Value::string(utf8::from_u32(u.substr(b, i - b))));
    }
    return Value::make_list(std::move(parts));
  }
  if (!sep->is_string()) raise("split() separator must be a string");
  if (sep->s.empty()) raise("empty separator");
  size_t pos = 0;
  for (size_t hit; (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) &&
                   (hit = s.find(sep->s, pos)) != std::string::npos;
       pos = hit + sep->s.size()) {
    parts.push_back(Value::string(s.substr(pos, hit - pos)));
  }
  parts.push_back(Value::string(s.substr(pos)));
  return Value::make_list(std::move(parts));
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (size_t hit; count != 0 && (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size(), --count) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  return out + s.substr(pos);
}

std::string title(const std::string& s, bool only_first) {
  std::string out;
  bool word_start = true, first = true;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<utf8proc_int32_t>(utf8::next(s, i));
    bool letter = utf8proc_category(c) >= UTF8PROC_CATEGORY_LU && utf8proc_category(c) <= UTF8PROC_CATEGORY_LO;
    bool upper = only_first ? first : (word_start && letter);
    utf8::append(out, static_cast<char32_t>(upper ? utf8proc_toupper(c) : utf8proc_tolower(c)));
    word_start = !letter;
    first = false;
  }
  return out;
}

bool starts_or_ends(const std::string& s, const Value& what, bool start) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) raise("startswith/endswith expects a string or a tuple of strings");
    if (p.s.size() > s.size()) return false;
    return start ? s.compare(0, p.s.size(), p.s) == 0 : s.compare(s.size() - p.s.size(), p.s.size(), p.s) == 0;
  };
  if (what.kind == Value::Kind::List) {
    for (const Value& p : *what.list) if (one(p)) return true;
    return false;
  }
  return one(what);
}

int64_t length(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return static_cast<int64_t>(utf8::length(v.s));
    case Value::Kind::List: return static_cast<int64_t>(v.list->size());
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return static_cast<int64_t>(v.dict->size());
    default: raise(std::string("object of type '") + type_name(v) + "' has no len()");
  }
}

Value attribute_of(const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    cur = index(cur, Value::string(part));
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

int64_t to_int(const Value& v, int64_t def) {
  switch (v.kind) {
    case Value::Kind::Int: return v.i;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Float: return static_cast<int64_t>(v.f);
    case Value::Kind::String: {
      try {
        size_t used;
        int64_t x = std::stoll(v.s, &used);
        return used == v.s.size() ? x : static_cast<int64_t>(std::stod(v.s));
      } catch (...) {
        return def;
      }
    }
    default: return def;
  }
}

using FilterFn = std::function<Value(const Value&, std::vector<Value>&, Kwargs&)>;

// select / reject / selectattr / rejectattr share one body.
Value select_items(const Value& subject, std::vector<Value>& args, bool by_attr, bool keep) {
  List out;
  size_t first_test = by_attr ? 1 : 0;
  for (const Value& item : iterate(subject)) {
    Value probe = by_attr ? attribute_of(item, str_arg(args, 0, "selectattr")) : item;
    bool ok;
    if (args.size() <= first_test) {
      ok = truthy(probe);
    } else {
      std::vector<Value> test_args(args.begin() + first_test + 1, args.end());
      ok = apply_test(str_arg(args, first_test, "select"), probe, test_args);
    }
    if (ok == keep) out.push_back(item);
  }
  return Value::make_list(std::move(out));
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> table = [] {
    std::map<std::string, FilterFn> f;
    f["length"] = [](const Value& v, auto&, auto&) { return Value::integer(length(v)); };
    f["count"] = f["length"];
    f["tojson"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      const Value* indent = arg(a, kw, 0, "indent");
      const Value* sort = kwarg(kw, "sort_keys");
      int ind = indent && indent->kind == Value::Kind::Int ? static_cast<int>(indent->i) : -1;
      return Value::string(to_json(v, ind, sort && truthy(*sort), [](const std::string& m) { raise(m); }));
    };
    f["trim"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      return Value::string(strip(to_str(v), arg(a, kw, 0, "chars"), true, true));
    };
    f["upper"] = [](const Value& v, auto&, auto&) { return Value::string(map_chars(to_str(v), utf8proc_toupper)); };
    f["lower"] = [](const Value& v, auto&, auto&) { return Value::string(map_chars(to_str(v), utf8proc_tolower)); };
    f["title"] = [](const Value& v, auto&, auto&) { return Value::string(title(to_str(v), false)); };
    f["capitalize"] = [](const Value& v, auto&, auto&) { return Value::string(title(to_str(v), true)); };
    f["string"] = [](const Value& v, auto&, auto&) { return Value::string(to_str(v)); };
    f["safe"] = [](const Value& v, auto&, auto&) { return v; };
    f["default"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      const Value* def = arg(a, kw, 0, "default_value");
      const Value* boolean = arg(a, kw, 1, "boolean");
      bool use_default = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
      return use_default ? (def ? *def : Value::string("")) : v;
    };
    f["d"] = f["default"];
    f["first"] = [](const Value& v, auto&, auto&) {
      auto items = iterate(v);
      return items.empty() ? Value::undefined("first of an empty sequence") : items.front();
    };
    f["last"] = [](const Value& v, auto&, auto&) {
      auto items = iterate(v);
      return items.empty() ? Value::undefined("last of an empty sequence") : items.back();
    };
    f["list"] = [](const Value& v, auto&, auto&) { return Value::make_list(iterate(v)); };
    f["reverse"] = [](const Value& v, auto&, auto&) {
      return slice(v, Value::none(), Value::none(), Value::integer(-1));
    };
    f["join"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      const Value* sep = arg(a, kw, 0, "d");
      const Value* attr = arg(a, kw, 1, "attribute");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(v)) {
        if (!first && sep) out += to_str(*sep);
        out += to_str(attr ? attribute_of(item, to_str(*attr)) : item);
        first = false;
      }
      return Value::string(out);
    };
    f["int"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      const Value* def = arg(a, kw, 0, "default");
      return Value::integer(to_int(v, def ? to_int(*def, 0) : 0));
    };
    f["float"] = [](const Value& v, auto&, auto&) {
      if (v.is_number()) return Value::number(v.as_double());
      try {
        return Value::number(std::stod(to_str(v)));
      } catch (...) {
        return Value::number(0.0);
      }
    };
    f["abs"] = [](const Value& v, auto&, auto&) {
      if (v.kind == Value::Kind::Int) return Value::integer(std::llabs(v.i));
      if (v.kind == Value::Kind::Float) return Value::number(std::fabs(v.f));
      raise(std::string("bad operand type for abs(): '") + type_name(v) + "'");
    };
    f["replace"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      const Value* count = arg(a, kw, 2, "count");
      return Value::string(replace_all(to_str(v), str_arg(a, 0, "replace"), str_arg(a, 1, "replace"),
                                       count && count->kind == Value::Kind::Int ? count->i : -1));
    };
    f["items"] = [](const Value& v, auto&, auto&) {
      if (!v.is_mapping()) raise("items filter expects a mapping");
      List out;
      for (const auto& [k, x] : *v.dict) out.push_back(Value::make_list({Value::string(k), x}));
      return Value::make_list(std::move(out));
    };
    f["map"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      List out;
      const Value* attr = kwarg(kw, "attribute");
      for (const Value& item : iterate(v)) {
        if (attr) {
          Value x = attribute_of(item, to_str(*attr));
          const Value* def = kwarg(kw, "default");
          out.push_back(x.is_undefined() && def ? *def : x);
        } else {
          std::vector<Value> rest(a.begin() + (a.empty() ? 0 : 1), a.end());
          Kwargs none;
          out.push_back(apply_filter(str_arg(a, 0, "map"), item, rest, none));
        }
      }
      return Value::make_list(std::move(out));
    };
    f["select"] = [](const Value& v, std::vector<Value>& a, Kwargs&) { return select_items(v, a, false, true); };
    f["reject"] = [](const Value& v, std::vector<Value>& a, Kwargs&) { return select_items(v, a, false, false); };
    f["selectattr"] = [](const Value& v, std::vector<Value>& a, Kwargs&) { return select_items(v, a, true, true); };
    f["rejectattr"] = [](const Value& v, std::vector<Value>& a, Kwargs&) { return select_items(v, a, true, false); };
    f["unique"] = [](const Value& v, auto&, auto&) {
      List out;
      for (const Value& item : iterate(v)) {
        if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return equals(o, item); })) out.push_back(item);
      }
      return Value::make_list(std::move(out));
    };
    f["indent"] = [](const Value& v, std::vector<Value>& a, Kwargs& kw) {
      const Value* width = arg(a, kw, 0, "width");
      const Value* first = arg(a, kw, 1, "first");
      const Value* blank = arg(a, kw, 2, "blank");
      std::string pad = width && width->is_string() ? width->s : std::string(width ? to_int(*width, 4) : 4, ' ');
      std::string s = to_str(v), out;
      size_t pos = 0;
      for (bool first_line = true;; first_line = false) {
        size_t nl = s.find('\n', pos);
        std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        bool indent = first_line ? (first && truthy(*first)) : (!line.empty() || (blank && truthy(*blank)));
        out += (indent ? pad : "") + line;
        if (nl == std::string::npos) break;
        out += '\n';
        pos = nl + 1;
      }
      return Value::string(out);
    };
    return f;
  }();
  return table;
}

using TestFn = std::function<bool(const Value&, std::vector<Value>&)>;

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> table = [] {
    using K = Value::Kind;
    std::map<std::string, TestFn> t;
    t["defined"] = [](const Value& v, auto&) { return !v.is_undefined(); };
    t["undefined"] = [](const Value& v, auto&) { return v.is_undefined(); };
    t["none"] = [](const Value& v, auto&) { return v.is_none(); };
    t["string"] = [](const Value& v, auto&) { return v.is_string(); };
    t["number"] = [](const Value& v, auto&) { return v.kind == K::Int || v.kind == K::Float; };
    t["integer"] = [](const Value& v, auto&) { return v.kind == K::Int; };
    t["float"] = [](const Value& v, auto&) { return v.kind == K::Float; };
    t["boolean"] = [](const Value& v, auto&) { return v.kind == K::Bool; };
    t["true"] = [](const Value& v, auto&) { return v.kind == K::Bool && v.b; };
    t["false"] = [](const Value& v, auto&) { return v.kind == K::Bool && !v.b; };
    t["mapping"] = [](const Value& v, auto&) { return v.kind == K::Dict; };
    t["sequence"] = [](const Value& v, auto&) { return v.kind == K::List || v.kind == K::String || v.kind == K::Dict; };
    t["iterable"] = t["sequence"];
    t["callable"] = [](const Value& v, auto&) { return v.kind == K::Function; };
    t["odd"] = [](const Value& v, auto&) { return v.kind == K::Int && v.i % 2 != 0; };
    t["even"] = [](const Value& v, auto&) { return v.kind == K::Int && v.i % 2 == 0; };
    t["divisibleby"] = [](const Value& v, std::vector<Value>& a) {
      return v.kind == K::Int && !a.empty() && a[0].kind == K::Int && a[0].i != 0 && v.i % a[0].i == 0;
    };
    auto cmp = [](auto pred) {
      return [pred](const Value& v, std::vector<Value>& a) {
        if (a.empty()) raise("comparison test needs an argument");
        bool ok;
        int c = compare(v, a[0], ok);
        if (!ok) raise(std::string("'<' not supported between '") + type_name(v) + "' and '" + type_name(a[0]) + "'");
        return pred(c);
      };
    };
    t["eq"] = [](const Value& v, std::vector<Value>& a) { return !a.empty() && equals(v, a[0]); };
    t["equalto"] = t["eq"];
    t["sameas"] = t["eq"];
    t["ne"] = [](const Value& v, std::vector<Value>& a) { return a.empty() || !equals(v, a[0]); };
    t["lt"] = cmp([](int c) { return c < 0; });
    t["le"] = cmp([](int c) { return c <= 0; });
    t["gt"] = cmp([](int c) { return c > 0; });
    t["ge"] = cmp([](int c) { return c >= 0; });
    t["in"] = [](const Value& v, std::vector<Value>& a) { return !a.empty() && contains(a[0], v); };
    return t;
  }();
  return table;
}

int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) > 0; }
bool has_test(const std::string& name) { return tests().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& subject, std::vector<Value>& args, Kwargs& kwargs) {
  auto it = filters().find(name);
  if (it == filters().end()) raise("no filter named '" + name + "'");
  return it->second(subject, args, kwargs);
}

bool apply_test(const std::string& name, const Value& subject, std::vector<Value>& args) {
  auto it = tests().find(name);
  if (it == tests().end()) raise("no test named '" + name + "'");
  return it->second(subject, args);
}

bool call_method(const Value& obj, const std::string& name, std::vector<Value>& args, Kwargs& kwargs, Value& result) {
  if (obj.is_string()) {
    const std::string& s = obj.s;
    if (name == "startswith" || name == "endswith") {
      if (args.empty()) raise(name + "() takes at least 1 argument");
      result = Value::boolean(starts_or_ends(s, args[0], name == "startswith"));
    } else if (name == "strip" || name == "lstrip" || name == "rstrip") {
      result = Value::string(strip(s, arg(args, kwargs, 0, "chars"), name != "rstrip", name != "lstrip"));
    } else if (name == "split") {
      result = split(s, arg(args, kwargs, 0, "sep"), arg(args, kwargs, 1, "maxsplit"));
    } else if (name == "upper" || name == "lower") {
      result = Value::string(map_chars(s, name == "upper" ? utf8proc_toupper : utf8proc_tolower));
    } else if (name == "title" || name == "capitalize") {
      result = Value::string(title(s, name == "capitalize"));
    } else if (name == "replace") {
      const Value* count = arg(args, kwargs, 2, "count");
      result = Value::string(replace_all(s, str_arg(args, 0, "replace"), str_arg(args, 1, "replace"),
                                         count && count->kind == Value::Kind::Int ? count->i : -1));
    } else if (name == "find") {
      size_t at = s.find(str_arg(args, 0, "find"));
      result = Value::integer(at == std::string::npos ? -1 : static_cast<int64_t>(utf8::length(s.substr(0, at))));
    } else if (name == "join") {
      std::string out;
      bool first = true;
      for (const Value& item : iterate(args.empty() ? Value::make_list() : args[0])) {
        if (!item.is_string()) raise("join() expects strings");
        out += (first ? "" : s) + item.s;
        first = false;
      }
      result = Value::string(out);
    } else {
      return false;
    }
    return true;
  }
  if (obj.kind == Value::Kind::Dict) {
    if (name == "items" || name == "keys" || name == "values") {
      List out;
      for (const auto& [k, v] : *obj.dict) {
        out.push_back(name == "items" ? Value::make_list({Value::string(k), v}) : name == "keys" ? Value::string(k) : v);
      }
      result = Value::make_list(std::move(out));
    } else if (name == "get") {
      if (args.empty()) raise("get() takes at least 1 argument");
      Value found = index(obj, args[0]);
      result = found.is_undefined() ? (args.size() > 1 ? args[1] : Value::none()) : found;
    } else {
      return false;
    }
    return true;
  }
  return false;
}

Dict global_functions() {
  Dict g;
  g.emplace_back("range", Value::function([](std::vector<Value>& a, Kwargs&) {
    for (const Value& x : a) if (x.kind != Value::Kind::Int) raise("range() expects integers");
    int64_t start = 0, stop, step = 1;
    if (a.size() == 1) stop = a[0].i;
    else if (a.size() == 2 || a.size() == 3) start = a[0].i, stop = a[1].i, step = a.size() == 3 ? a[2].i : 1;
    else raise("range() expects 1 to 3 arguments");
    if (step == 0) raise("range() arg 3 must not be zero");
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::integer(i));
    return Value::make_list(std::move(out));
  }));
  g.emplace_back("namespace", Value::function([](std::vector<Value>& a, Kwargs& kw) {
    Dict items;
    if (!a.empty() && a[0].kind == Value::Kind::Dict) items = *a[0].dict;
    for (auto& [k, v] : kw) items.emplace_back(k, v);
    return Value::make_namespace(std::move(items));
  }));
  g.emplace_back("dict", Value::function([](std::vector<Value>&, Kwargs& kw) { return Value::make_dict(kw); }));
  g.emplace_back("raise_exception", Value::function([](std::vector<Value>& a, Kwargs&) -> Value {
    raise("raise_exception: " + (a.empty() ? std::string() : to_str(a[0])));
  }));
  g.emplace_back("strftime_now", Value::function([](std::vector<Value>& a, Kwargs&) {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[256];
    size_t n = std::strftime(buf, sizeof buf, str_arg(a, 0, "strftime_now").c_str(), &local);
    return Value::string(std::string(buf, n));
  }));
  return g;
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::List: return *v.list;
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& kv : *v.dict) keys.push_back(Value::string(kv.first));
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      for (size_t i = 0; i < v.s.size();) {
        size_t b = i;
        utf8::next(v.s, i);
        chars.push_back(Value::string(v.s.substr(b, i - b)));
      }
      return chars;
    }
    case Value::Kind::Undefined: raise(v.s);
    default: raise(std::string("'") + type_name(v) + "' object is not iterable");
  }
}

Value slice(const Value& v, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto opt = [](const Value& x, const char* what) -> std::optional<int64_t> {
    if (x.is_none() || x.is_undefined()) return std::nullopt;
    if (x.kind != Value::Kind::Int) raise(std::string("slice ") + what + " must be an integer or None");
    return x.i;
  };
  int64_t step = opt(step_v, "step").value_or(1);
  if (step == 0) raise("slice step cannot be zero");
  bool is_str = v.is_string();
  std::u32string chars;
  if (is_str) chars = utf8::to_u32(v.s);
  else if (v.kind != Value::Kind::List) raise(std::string("'") + type_name(v) + "' object is not subscriptable");
  int64_t n = is_str ? static_cast<int64_t>(chars.size()) : static_cast<int64_t>(v.list->size());
  // Python's slice.indices().
  auto clamp = [&](std::optional<int64_t> x, int64_t def) {
    if (!x) return def;
    int64_t i = *x < 0 ? *x + n : *x;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  int64_t start = clamp(opt(start_v, "start"), step > 0 ? 0 : n - 1);
  int64_t stop = clamp(opt(stop_v, "stop"), step > 0 ? n : -1);
  std::u32string s_out;
  List l_out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (is_str) s_out += chars[i];
    else l_out.push_back((*v.list)[i]);
  }
  return is_str ? Value::string(utf8::from_u32(s_out)) : Value::make_list(std::move(l_out));
}

Value index(const Value& v, const Value& key) {
  if (v.is_mapping()) {
    if (key.is_string()) {
      if (const Value* found = v.find(key.s)) return *found;
    }
    return Value::undefined(cat("'", type_name(v), " object' has no attribute ", repr(key)));
  }
  if ((v.kind == Value::Kind::List || v.is_string()) && key.kind == Value::Kind::Int) {
    if (v.is_string()) {
      std::u32string chars = utf8::to_u32(v.s);
      int64_t i = norm_index(key.i, static_cast<int64_t>(chars.size()));
      if (i >= 0 && i < static_cast<int64_t>(chars.size())) return Value::string(utf8::from_u32(chars.substr(i, 1)));
    } else {
      int64_t i = norm_index(key.i, static_cast<int64_t>(v.list->size()));
      if (i >= 0 && i < static_cast<int64_t>(v.list->size())) return (*v.list)[i];
    }
    return Value::undefined(std::string(type_name(v)) + " index " + std::to_string(key.i) + " out of range");
  }
  if (v.is_undefined()) raise(v.s);
  return Value::undefined(cat("'", type_name(v), " object' has no attribute ", repr(key)));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Value::Kind::String:
      if (!item.is_string()) raise("'in <string>' requires string as left operand");
      return container.s.find(item.s) != std::string::npos;
    case Value::Kind::List:
      return std::any_of(container.list->begin(), container.list->end(), [&](const Value& x) { return equals(x, item); });
    case Value::Kind::Dict:
      return item.is_string() && container.find(item.s) != nullptr;
    case Value::Kind::Undefined:
      return false;  // Jinja's Undefined is an empty container
    default:
      raise(std::string("argument of type '") + type_name(container) + "' is not iterable");
  }
}

}  // namespace s0::jinja
