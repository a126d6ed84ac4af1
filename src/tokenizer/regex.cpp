#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "core/error.h"

namespace s0 {

struct Regex::Impl {
  pcre2_code* code = nullptr;
};

namespace {

// Match data is per thread: a pattern is shared by every thread encoding with the tokenizer.
struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

// tokenizers compiles patterns with Oniguruma, whose \s is Unicode's White_Space property (and
// the JavaScript port emulates that). PCRE2's \s in UCP mode also matches U+180E MONGOLIAN VOWEL
// SEPARATOR (through \h), so \s and \S are rewritten to leave U+180E out:
//   \s -> [^\S\x{180E}]    \S -> [\S\x{180E}]
//   [..\s..] -> (?:(?!\x{180E})[..\s..])    [^..\s..] -> (?:\x{180E}|[^..\s..])
// and \S inside a class gains \x{180E} next to it. Other escapes are copied untouched.
std::string oniguruma_spaces(const std::string& p) {
  std::string out;
  for (size_t i = 0; i < p.size();) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      out += e == 's' ? "[^\\S\\x{180E}]" : e == 'S' ? "[\\S\\x{180E}]" : p.substr(i, 2);
      i += 2;
      continue;
    }
    if (p[i] != '[') {
      out += p[i++];
      continue;
    }
    // A character class: find its end, noting a leading ^ and any \s inside.
    size_t j = i + 1;
    bool negated = j < p.size() && p[j] == '^';
    if (negated) ++j;
    std::string body;
    if (j < p.size() && p[j] == ']') body += p[j++];  // a leading ] is a literal
    bool has_space = false;
    for (; j < p.size() && p[j] != ']'; ++j) {
      if (p[j] == '\\' && j + 1 < p.size()) {
        has_space |= p[j + 1] == 's';
        body += p.substr(j, 2);
        if (p[j + 1] == 'S') body += "\\x{180E}";
        ++j;
      } else if (p[j] == '[' && j + 1 < p.size() && p[j + 1] == ':') {  // [:alpha:]
        size_t end = p.find(":]", j + 2);
        if (end == std::string::npos) break;
        body += p.substr(j, end + 2 - j);
        j = end + 1;
      } else {
        body += p[j];
      }
    }
    if (j >= p.size()) return out + p.substr(i);  // unterminated: let PCRE2 report it
    std::string cls = (negated ? "[^" : "[") + body + "]";
    if (!has_space) out += cls;
    else if (negated) out += "(?:\\x{180E}|" + cls + ")";
    else out += "(?:(?!\\x{180E})" + cls + ")";
    i = j + 1;
  }
  return out;
}

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& origin, bool literal) : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2 refuses UCP together with LITERAL, and a literal has no classes for it to affect.
  uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  const std::string compiled = literal ? pattern : oniguruma_spaces(pattern);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(), options, &err, &offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail(origin, ": regex ", pattern, " does not compile: ", reinterpret_cast<char*>(msg));
  }
  // Without JIT (unsupported CPU) pcre2_match still works, only slower.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() { pcre2_code_free(impl_->code); }

bool Regex::find(std::string_view text, size_t from, size_t& begin, size_t& end) const {
  thread_local MatchData md;
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (size_t pos = from; pos <= text.size();) {
    // The text was validated once at the tokenizer's entrance.
    int rc = pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) fail("regex match failed with PCRE2 error ", rc);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
    if (ov[1] > ov[0]) {
      begin = ov[0];
      end = ov[1];
      return true;
    }
    // An empty match yields nothing; step over one whole code point.
    pos = ov[0] + 1;
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  }
  return false;
}

}  // namespace s0
