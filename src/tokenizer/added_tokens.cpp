#include "tokenizer/added_tokens.h"

#include <utf8proc.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace s0 {
namespace {

// Rust's char::is_whitespace (the White_Space property), used by lstrip / rstrip.
bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Rust's char::is_alphanumeric (letters and numbers), used by single_word.
bool is_word_char(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

// The code point ending just before byte `i`.
char32_t char_before(std::string_view s, size_t i) {
  size_t b = i - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return utf8::next(s, b);
}

char32_t char_at(std::string_view s, size_t i) { return utf8::next(s, i); }

}  // namespace

std::vector<AddedToken> parse_added_tokens(const Json& list, const std::string& origin) {
  std::vector<AddedToken> tokens;
  if (list.is_null()) return tokens;
  std::string where = origin + " added_tokens";
  for (const Json& t : list) {
    AddedToken a;
    a.id = static_cast<int32_t>(json_int(t, "id", where));
    a.content = json_string(t, "content", where);
    if (a.content.empty()) fail(where, ": token ", a.id, " has empty content");
    a.special = json_bool_or(t, "special", false, where);
    a.lstrip = json_bool_or(t, "lstrip", false, where);
    a.rstrip = json_bool_or(t, "rstrip", false, where);
    a.normalized = json_bool_or(t, "normalized", !a.special, where);
    a.single_word = json_bool_or(t, "single_word", false, where);
    tokens.push_back(std::move(a));
  }
  return tokens;
}

AddedTokenMatcher::AddedTokenMatcher(std::vector<const AddedToken*> tokens) : tokens_(std::move(tokens)) {
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const AddedToken* a, const AddedToken* b) { return a->content.size() > b->content.size(); });
  for (const AddedToken* t : tokens_) first_byte_[static_cast<unsigned char>(t->content[0])] = true;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  size_t done = 0;  // text before this is already emitted
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const AddedToken* hit = nullptr;
    for (const AddedToken* t : tokens_) {
      if (text.compare(pos, t->content.size(), t->content) != 0) continue;
      size_t end = pos + t->content.size();
      if (t->single_word && ((pos > 0 && is_word_char(char_before(text, pos))) ||
                             (end < text.size() && is_word_char(char_at(text, end))))) {
        continue;
      }
      hit = t;
      break;
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = pos + hit->content.size();
    if (hit->lstrip) {
      while (begin > done && is_whitespace(char_before(text, begin))) {
        --begin;
        while ((static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
      }
    }
    if (hit->rstrip) {
      for (size_t k = end; k < text.size();) {
        if (!is_whitespace(utf8::next(text, k))) break;
        end = k;
      }
    }
    if (begin > done) out.push_back({text.substr(done, begin - done), -1});
    out.push_back({text.substr(begin, end - begin), hit->id});
    done = pos = end;
  }
  if (done < text.size()) out.push_back({text.substr(done), -1});
}

}  // namespace s0
