#include "io/json.h"

#include <cmath>
#include <limits>
#include <optional>

#include "core/error.h"
#include "io/file.h"

namespace s0 {
namespace {

// Sentinel strings (starting with a private-use character) stand in for the non-standard number tokens during parsing.
constexpr const char* kPosInf = "\xee\x80\x80s0:+inf";
constexpr const char* kNegInf = "\xee\x80\x80s0:-inf";
constexpr const char* kNaN = "\xee\x80\x80s0:nan";

// Rewrites bare Infinity / -Infinity / NaN outside strings into quoted sentinels.
std::string replace_nonfinite_tokens(std::string_view text, bool& changed) {
  std::string out;
  changed = false;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    auto starts = [&](std::string_view w) { return text.substr(i, w.size()) == w; };
    if (starts("-Infinity")) {
      out += std::string("\"") + kNegInf + "\"";
      i += 8;
      changed = true;
    } else if (starts("Infinity")) {
      out += std::string("\"") + kPosInf + "\"";
      i += 7;
      changed = true;
    } else if (starts("NaN")) {
      out += std::string("\"") + kNaN + "\"";
      i += 2;
      changed = true;
    } else {
      out += c;
    }
  }
  return out;
}

// transformers 5 writes a non-finite float as {"__float__": "Infinity" | "-Infinity" | "NaN"}; an
// object of that one key stands for the number wherever it appears.
constexpr const char* kFloatKey = "__float__";

bool tagged_nonfinite(const Json& j, double& value) {
  if (!j.is_object() || j.size() != 1 || !j.contains(kFloatKey) || !j[kFloatKey].is_string()) return false;
  const std::string& s = j[kFloatKey].get_ref<const std::string&>();
  if (s == "Infinity") value = std::numeric_limits<double>::infinity();
  else if (s == "-Infinity") value = -std::numeric_limits<double>::infinity();
  else if (s == "NaN") value = std::numeric_limits<double>::quiet_NaN();
  else return false;
  return true;
}

void restore_nonfinite(Json& j) {
  double tagged = 0;
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s == kPosInf) j = std::numeric_limits<double>::infinity();
    else if (s == kNegInf) j = -std::numeric_limits<double>::infinity();
    else if (s == kNaN) j = std::numeric_limits<double>::quiet_NaN();
  } else if (tagged_nonfinite(j, tagged)) {
    j = tagged;
  } else if (j.is_structured()) {
    for (auto& v : j) restore_nonfinite(v);
  }
}

const char* type_name(const Json& j) { return j.type_name(); }

Json with_nonfinite_sentinels(const Json& j) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    double d = j.get<double>();
    return std::isnan(d) ? kNaN : (d > 0 ? kPosInf : kNegInf);
  }
  if (!j.is_structured()) return j;
  Json out = j;
  for (auto it = out.begin(); it != out.end(); ++it) *it = with_nonfinite_sentinels(*it);
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

}  // namespace

Json parse_json(std::string_view text, const std::string& origin) {
  bool changed = false;
  std::string fixed = replace_nonfinite_tokens(text, changed);
  Json j;
  try {
    j = Json::parse(fixed);
  } catch (const nlohmann::json::parse_error& e) {
    fail(origin, ": malformed JSON (", e.what(), ")");
  }
  // The walk is skipped for the common file with neither form (a tokenizer.json is megabytes).
  if (changed || text.find(kFloatKey) != std::string_view::npos) restore_nonfinite(j);
  return j;
}

std::string dump_json(const Json& j, int indent) {
  std::string out = with_nonfinite_sentinels(j).dump(indent);
  replace_all(out, std::string("\"") + kPosInf + "\"", "Infinity");
  replace_all(out, std::string("\"") + kNegInf + "\"", "-Infinity");
  replace_all(out, std::string("\"") + kNaN + "\"", "NaN");
  return out;
}

namespace {
// The path of the first non-finite number in `j` ("" at the top, else like /lr or /a/0), or nothing.
std::optional<std::string> non_finite_place(const Json& j, const std::string& at) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) return at.empty() ? "/" : at;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (auto p = non_finite_place(*it, at + "/" + it.key())) return p;
  if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i)
      if (auto p = non_finite_place(j[i], at + "/" + std::to_string(i))) return p;
  return std::nullopt;
}
}  // namespace

std::string dump_finite_json(const Json& j, int indent) {
  if (auto place = non_finite_place(j, ""))
    fail("internal error: refusing to write a non-finite number at ", *place, " into a JSON file");
  return j.dump(indent);
}

Json load_json_file(const std::filesystem::path& path) { return parse_json(read_file(path), path.string()); }

const Json& json_field(const Json& obj, const std::string& key, const std::string& origin) {
  if (!obj.is_object()) fail(origin, ": expected a JSON object holding \"", key, "\"");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) fail(origin, ": missing field \"", key, "\"");
  return *it;
}

int64_t json_int(const Json& obj, const std::string& key, const std::string& origin) {
  const Json& v = json_field(obj, key, origin);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d)) return static_cast<int64_t>(d);
  }
  fail(origin, ": field \"", key, "\" must be an integer, got ", type_name(v), " ", v.dump());
}

double json_number(const Json& obj, const std::string& key, const std::string& origin) {
  const Json& v = json_field(obj, key, origin);
  if (!v.is_number()) fail(origin, ": field \"", key, "\" must be a number, got ", type_name(v));
  return v.get<double>();
}

std::string json_string(const Json& obj, const std::string& key, const std::string& origin) {
  const Json& v = json_field(obj, key, origin);
  if (!v.is_string()) fail(origin, ": field \"", key, "\" must be a string, got ", type_name(v));
  return v.get<std::string>();
}

bool json_bool(const Json& obj, const std::string& key, const std::string& origin) {
  const Json& v = json_field(obj, key, origin);
  if (!v.is_boolean()) fail(origin, ": field \"", key, "\" must be true or false, got ", type_name(v));
  return v.get<bool>();
}

namespace {
bool absent(const Json& obj, const std::string& key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null();
}
}  // namespace

int64_t json_int_or(const Json& obj, const std::string& key, int64_t def, const std::string& origin) {
  return absent(obj, key) ? def : json_int(obj, key, origin);
}
double json_number_or(const Json& obj, const std::string& key, double def, const std::string& origin) {
  return absent(obj, key) ? def : json_number(obj, key, origin);
}
bool json_bool_or(const Json& obj, const std::string& key, bool def, const std::string& origin) {
  return absent(obj, key) ? def : json_bool(obj, key, origin);
}

}  // namespace s0
