#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace s0 {
namespace {

// Only the ByteLevel decoder is supported (alone or in a Sequence): it is the one byte-level BPE
// files use. Anything else is named in the error.
void check_decoder(const Json& spec, const std::string& origin) {
  std::string type = json_string(spec, "type", origin + " decoder");
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    for (const Json& d : json_field(spec, "decoders", origin + " decoder")) check_decoder(d, origin);
    return;
  }
  fail(origin, ": unsupported decoder type \"", type, "\"");
}

// Reads the post-processor's effect on ids: nothing (null, ByteLevel), or the fixed ids a
// TemplateProcessing "single" template puts around the sequence.
void parse_post_processor(const Json& spec, const std::string& origin, std::vector<int32_t>& prefix,
                          std::vector<int32_t>& suffix) {
  if (spec.is_null()) return;
  std::string where = origin + " post_processor";
  std::string type = json_string(spec, "type", where);
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    for (const Json& p : json_field(spec, "processors", where)) parse_post_processor(p, origin, prefix, suffix);
    return;
  }
  if (type != "TemplateProcessing") fail(origin, ": unsupported post_processor type \"", type, "\"");
  const Json& specials = json_field(spec, "special_tokens", where);
  bool seen_sequence = false;
  for (const Json& item : json_field(spec, "single", where)) {
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    std::string name = json_string(json_field(item, "SpecialToken", where), "id", where);
    for (const Json& id : json_field(json_field(specials, name, where), "ids", where)) {
      (seen_sequence ? suffix : prefix).push_back(id.get<int32_t>());
    }
  }
}

// tokenizer_config.json writes special tokens as a string or as {"content": ...}.
std::optional<std::string> token_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& dir) {
  auto path = dir / "tokenizer.json";
  if (!std::filesystem::exists(path)) fail("tokenizer file ", path.string(), " not found");
  Json config;
  auto config_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) config = load_json_file(config_path);
  return Tokenizer(load_json_file(path), config, path.string());
}

Tokenizer::Tokenizer(const Json& tj, const Json& config, const std::string& origin) {
  if (!tj.is_object()) fail(origin, ": expected a JSON object");
  normalizer_ = make_normalizer(tj.value("normalizer", Json()), origin);
  pre_tokenizer_ = make_pre_tokenizer(tj.value("pre_tokenizer", Json()), origin);
  model_ = std::make_unique<Bpe>(json_field(tj, "model", origin), origin);
  const Json decoder = tj.value("decoder", Json());
  if (decoder.is_null()) fail(origin, ": no decoder (a ByteLevel decoder is required)");
  check_decoder(decoder, origin);
  parse_post_processor(tj.value("post_processor", Json()), origin, prefix_, suffix_);
  added_ = parse_added_tokens(tj.value("added_tokens", Json()), origin);

  std::vector<const AddedToken*> raw, normalized;
  for (const AddedToken& t : added_) (t.normalized && normalizer_ ? normalized : raw).push_back(&t);
  raw_matcher_ = std::make_unique<AddedTokenMatcher>(raw);
  normalized_matcher_ = std::make_unique<AddedTokenMatcher>(normalized);

  const auto& tokens = model_->id_to_token();
  size_t n = tokens.size();
  for (const AddedToken& t : added_) n = std::max(n, static_cast<size_t>(t.id) + 1);
  bytes_.resize(n);
  special_.assign(n, false);
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id].empty()) continue;
    // As tokenizers' ByteLevel decoder: a token outside the byte alphabet keeps its own bytes.
    bytes_[id] = byte_level::decode(tokens[id]).value_or(tokens[id]);
  }
  for (const AddedToken& t : added_) {
    bytes_[t.id] = byte_level::decode(t.content).value_or(t.content);
    special_[t.id] = t.special;
  }

  special_names_ = Json::object();
  if (config.is_object()) {
    for (const char* name : {"bos_token", "eos_token", "pad_token", "unk_token"}) {
      if (config.contains(name)) {
        if (auto text = token_text(config[name])) special_names_[name] = *text;
      }
    }
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

void Tokenizer::encode_text(std::string_view segment, std::vector<int32_t>& ids) const {
  if (!pre_tokenizer_) {
    if (!segment.empty()) model_->encode(segment, ids);
    return;
  }
  pre_tokenizer_->split(segment, [&](std::string_view piece) { model_->encode(piece, ids); });
}

std::vector<int32_t> Tokenizer::encode(std::string_view input, bool add_special_tokens) const {
  std::string repaired;
  if (!utf8::is_valid(input)) {
    repaired = utf8::sanitize(input);
    input = repaired;
  }
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = prefix_;
  // Same order as tokenizers' AddedVocabulary: raw-matched tokens first, then normalization of
  // the text between them, then tokens matched in normalized text, then the pre-tokenizer.
  std::vector<Segment> segments;
  raw_matcher_->split(input, segments);
  for (const Segment& s : segments) {
    if (s.token >= 0) {
      ids.push_back(s.token);
      continue;
    }
    if (!normalizer_) {
      encode_text(s.text, ids);
      continue;
    }
    std::string normalized = normalizer_->normalize(std::string(s.text));
    std::vector<Segment> inner;
    normalized_matcher_->split(normalized, inner);
    for (const Segment& t : inner) {
      if (t.token >= 0) ids.push_back(t.token);
      else encode_text(t.text, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  return ids;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  static const std::string none;
  if (id < 0 || static_cast<size_t>(id) >= bytes_.size()) return none;
  return bytes_[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id];
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    bytes += token_bytes(id);
  }
  return utf8::sanitize(bytes);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& t : added_) {
    if (t.content == token) return t.id;
  }
  return model_->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  for (const AddedToken& t : added_) {
    if (t.id == id) return t.content;
  }
  const auto& tokens = model_->id_to_token();
  if (id >= 0 && static_cast<size_t>(id) < tokens.size() && !tokens[id].empty()) return tokens[id];
  return std::nullopt;
}

std::optional<std::string> Tokenizer::special_token(const std::string& name) const {
  if (!special_names_.contains(name)) return std::nullopt;
  return special_names_[name].get<std::string>();
}

std::optional<int32_t> Tokenizer::special_token_id(const std::string& name) const {
  auto text = special_token(name);
  if (!text) return std::nullopt;
  return token_to_id(*text);
}

std::string DecodeStream::step(int32_t id) {
  if (!(skip_special_ && tokenizer_.is_special(id))) pending_ += tokenizer_.token_bytes(id);
  size_t keep = utf8::incomplete_tail(pending_);
  std::string out = utf8::sanitize(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string DecodeStream::finish() {
  std::string out = utf8::sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace s0
