#pragma once
// JSON as Hugging Face writes it. Python's json module (and so save_pretrained before transformers
// 5) writes the bare tokens Infinity, -Infinity and NaN, which strict JSON rejects; transformers 5
// writes {"__float__": "Infinity"} (or "-Infinity", "NaN") instead. Both are accepted wherever a
// number may stand and become the corresponding doubles.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace s0 {

using Json = nlohmann::json;

// Parses `text`; on error the message names `origin` and the byte offset.
Json parse_json(std::string_view text, const std::string& origin);
Json load_json_file(const std::filesystem::path& path);

// Serialises like Python's json.dumps (and so save_pretrained): non-finite numbers are written as
// Infinity, -Infinity and NaN, which parse_json reads back.
std::string dump_json(const Json& j, int indent = 2);
// Serialises strict JSON for the files s0 itself writes (adapter config and meta): a NaN or
// infinity is refused as an internal error naming its place, because every entry point already
// rejects them and strict readers could not read the file back.
std::string dump_finite_json(const Json& j, int indent = 2);

// Typed field access that names the file and field on error.
const Json& json_field(const Json& obj, const std::string& key, const std::string& origin);
int64_t json_int(const Json& obj, const std::string& key, const std::string& origin);
double json_number(const Json& obj, const std::string& key, const std::string& origin);
std::string json_string(const Json& obj, const std::string& key, const std::string& origin);
bool json_bool(const Json& obj, const std::string& key, const std::string& origin);
// Optional variants: the default when the key is absent or null, an error when of the wrong type.
int64_t json_int_or(const Json& obj, const std::string& key, int64_t def, const std::string& origin);
double json_number_or(const Json& obj, const std::string& key, double def, const std::string& origin);
bool json_bool_or(const Json& obj, const std::string& key, bool def, const std::string& origin);

}  // namespace s0
