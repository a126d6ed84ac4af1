#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace s0 {
namespace {

class UnicodeForm : public Normalizer {
 public:
  UnicodeForm(int options, bool composes) : options_(options), composes_(composes) {}
  std::string normalize(std::string text) const override {
    return composes_ ? compose_unstable_runs(text) : map(text);
  }

 private:
  // Code points below U+0300 are stable under NFC: none decomposes, and none combines with what
  // precedes it. In UTF-8 they are the bytes below 0xCC. An ASCII character moreover never
  // combines with the character before it, so NFC may be applied to the stretch around each
  // byte >= 0xCC, from the ASCII character before it up to the next ASCII character, and the rest
  // copied as is. Code and English prose then barely touch utf8proc.
  std::string compose_unstable_runs(const std::string& text) const {
    auto unstable = [&](size_t from) {
      while (from < text.size() && static_cast<unsigned char>(text[from]) < 0xCC) ++from;
      return from;
    };
    size_t p = unstable(0);
    if (p == text.size()) return text;
    std::string out;
    out.reserve(text.size());
    size_t done = 0;
    while (p < text.size()) {
      size_t s = p;
      while (s > done && static_cast<unsigned char>(text[s - 1]) >= 0x80) --s;
      if (s > done) --s;  // the ASCII character a combining mark may attach to
      size_t e = p;
      while (e < text.size() && static_cast<unsigned char>(text[e]) >= 0x80) ++e;
      out.append(text, done, s - done);
      out += map(std::string_view(text).substr(s, e - s));
      done = e;
      p = unstable(e);
    }
    out.append(text, done);
    return out;
  }

  std::string map(std::string_view text) const {
    utf8proc_uint8_t* out = nullptr;
    utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                      static_cast<utf8proc_ssize_t>(text.size()), &out,
                                      static_cast<utf8proc_option_t>(options_));
    if (n < 0) fail("unicode normalization failed: ", utf8proc_errmsg(n));
    std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
    return result;
  }

  int options_;
  bool composes_;
};

class Lowercase : public Normalizer {
 public:
  std::string normalize(std::string text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) utf8::append(out, static_cast<char32_t>(utf8proc_tolower(utf8::next(text, i))));
    return out;
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string text) const override {
    std::u32string u = utf8::to_u32(text);
    auto space = [](char32_t c) {
      auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
      return c == U'\t' || c == U'\n' || c == U'\r' || c == 0x0B || c == 0x0C || c == 0x85 ||
             cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
    };
    size_t b = 0, e = u.size();
    if (left_) while (b < e && space(u[b])) ++b;
    if (right_) while (e > b && space(u[e - 1])) --e;
    return utf8::from_u32(std::u32string_view(u).substr(b, e - b));
  }

 private:
  bool left_, right_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string text) const override { return text.empty() ? text : prefix_ + text; }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}
  std::string normalize(std::string text) const override {
    if (from_.empty()) return text;
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = text.find(from_, pos)) != std::string::npos; pos = hit + from_.size()) {
      out.append(text, pos, hit - pos);
      out += to_;
    }
    out.append(text, pos);
    return out;
  }

 private:
  std::string from_, to_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  std::string normalize(std::string text) const override {
    for (const auto& p : parts_) text = p->normalize(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& spec, const std::string& origin) {
  if (spec.is_null()) return nullptr;
  std::string type = json_string(spec, "type", origin + " normalizer");
  if (type == "NFC") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE, true);
  if (type == "NFD") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, false);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, false);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, false);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip") {
    return std::make_unique<Strip>(json_bool_or(spec, "strip_left", true, origin),
                                   json_bool_or(spec, "strip_right", true, origin));
  }
  if (type == "Prepend") return std::make_unique<Prepend>(json_string(spec, "prepend", origin + " Prepend normalizer"));
  if (type == "Replace") {
    const Json& pattern = json_field(spec, "pattern", origin + " Replace normalizer");
    if (!pattern.contains("String")) fail(origin, ": Replace normalizer with a Regex pattern is not supported");
    return std::make_unique<Replace>(pattern["String"].get<std::string>(),
                                     json_string(spec, "content", origin + " Replace normalizer"));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const Json& p : json_field(spec, "normalizers", origin + " Sequence normalizer")) {
      if (auto n = make_normalizer(p, origin)) parts.push_back(std::move(n));
    }
    return std::make_unique<Sequence>(std::move(parts));
  }
  fail(origin, ": unsupported normalizer type \"", type, "\"");
}

}  // namespace s0
