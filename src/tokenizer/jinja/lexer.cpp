#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace s0::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  Lexer(const std::string& src, const std::string& origin) : src_(src), origin_(origin) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    bool strip_leading = false, trim_newline = false;
    size_t pos = 0;
    while (pos <= src_.size()) {
      size_t tag = find_tag(pos);
      std::string text = src_.substr(pos, (tag == std::string::npos ? src_.size() : tag) - pos);
      if (strip_leading) {
        text.erase(0, std::find_if_not(text.begin(), text.end(), is_space) - text.begin());
      } else if (trim_newline) {
        if (text.rfind("\r\n", 0) == 0) text.erase(0, 2);
        else if (text.rfind("\n", 0) == 0) text.erase(0, 1);
      }
      if (tag == std::string::npos) {
        emit_text(text, pos);
        break;
      }
      char kind = src_[tag + 1], modifier = src_.size() > tag + 2 ? src_[tag + 2] : '\0';
      if (modifier == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (modifier != '+' && kind != '{') {
        // Spaces and tabs alone between the start of the line and the block tag go.
        size_t k = tag;
        while (k > pos && (src_[k - 1] == ' ' || src_[k - 1] == '\t')) --k;
        if (k == 0 || src_[k - 1] == '\n') {
          size_t drop = std::min(tag - k, text.size());
          text.erase(text.size() - drop);
        }
      }
      emit_text(text, pos);
      size_t inner = tag + 2 + (modifier == '-' || modifier == '+' ? 1 : 0);
      bool strip_after = false;
      if (kind == '#') {
        size_t end = src_.find("#}", inner);
        if (end == std::string::npos) error(tag, "unterminated comment");
        strip_after = end > inner && src_[end - 1] == '-';
        pos = end + 2;
      } else {
        push(kind == '{' ? Tok::VarBegin : Tok::BlockBegin, kind == '{' ? "{{" : "{%", tag);
        pos = lex_tag(inner, kind == '{', strip_after);
      }
      bool plus_after = pos >= 3 && src_[pos - 3] == '+';
      strip_leading = strip_after;
      trim_newline = kind != '{' && !plus_after;
    }
    push(Tok::End, "", src_.size());
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void emit_text(const std::string& text, size_t at) {
    if (!text.empty()) push(Tok::Text, text, at);
  }

  void push(Tok kind, std::string text, size_t offset) {
    auto [line, col] = position(offset);
    tokens_.push_back({kind, std::move(text), line, col});
  }

  std::pair<int, int> position(size_t offset) const {
    size_t line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin();
    size_t start = line_starts_[line - 1];
    int col = 1 + static_cast<int>(utf8::length(std::string_view(src_).substr(start, offset - start)));
    return {static_cast<int>(line), col};
  }

  [[noreturn]] void error(size_t offset, const std::string& what) const {
    auto [line, col] = position(offset);
    fail(origin_, ": template line ", line, ", column ", col, ": ", what);
  }

  // Lexes the inside of a {{ }} or {% %} tag from `pos`; returns the offset after its end marker.
  size_t lex_tag(size_t pos, bool variable, bool& strip_after) {
    int depth = 0;  // open brackets, so that "}}" inside a dict literal does not end the tag
    const char* end_marker = variable ? "}}" : "%}";
    while (true) {
      while (pos < src_.size() && is_space(src_[pos])) ++pos;
      if (pos >= src_.size()) error(pos, std::string("missing ") + end_marker + " before end of template");
      if (depth == 0) {
        bool minus = src_[pos] == '-' || src_[pos] == '+';
        if (src_.compare(pos + (minus ? 1 : 0), 2, end_marker) == 0) {
          strip_after = src_[pos] == '-';
          push(variable ? Tok::VarEnd : Tok::BlockEnd, end_marker, pos);
          return pos + 2 + (minus ? 1 : 0);
        }
      }
      char c = src_[pos];
      if (is_name_start(c)) {
        size_t b = pos;
        while (pos < src_.size() && is_name_char(src_[pos])) ++pos;
        push(Tok::Name, src_.substr(b, pos - b), b);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        pos = lex_number(pos);
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        static const char* const two[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op(1, c);
        for (const char* t : two) {
          if (src_.compare(pos, 2, t) == 0) op = t;
        }
        if (op.size() == 1 && !std::strchr("+-*/%~<>=()[]{},.:|!", c)) error(pos, std::string("unexpected character '") + c + "'");
        if (op == "(" || op == "[" || op == "{") ++depth;
        if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
        push(Tok::Op, op, pos);
        pos += op.size();
      }
    }
  }

  size_t lex_number(size_t pos) {
    size_t b = pos;
    auto digits = [&] { while (pos < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos])) || src_[pos] == '_')) ++pos; };
    digits();
    bool is_float = false;
    if (pos + 1 < src_.size() && src_[pos] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos + 1]))) {
      ++pos;
      digits();
      is_float = true;
    }
    if (pos < src_.size() && (src_[pos] == 'e' || src_[pos] == 'E')) {
      size_t k = pos + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        pos = k;
        digits();
        is_float = true;
      }
    }
    std::string text = src_.substr(b, pos - b);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    push(is_float ? Tok::Float : Tok::Int, text, b);
    return pos;
  }

  size_t lex_string(size_t pos) {
    size_t b = pos;
    char quote = src_[pos++];
    std::string value;
    while (true) {
      if (pos >= src_.size()) error(b, "unterminated string literal");
      char c = src_[pos++];
      if (c == quote) break;
      if (c != '\\' || pos >= src_.size()) {
        value += c;
        continue;
      }
      char e = src_[pos++];
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case '0': value += '\0'; break;
        case '\\': case '\'': case '"': value += e; break;
        case '\n': break;  // a backslash-newline continues the line
        case 'x': case 'u': case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos + n > src_.size()) error(pos, "truncated escape in string literal");
          std::string hex = src_.substr(pos, n);
          if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) error(pos, "bad escape in string literal");
          utf8::append(value, static_cast<char32_t>(std::stoul(hex, nullptr, 16)));
          pos += n;
          break;
        }
        default:  // Python keeps unknown escapes as written
          value += '\\';
          value += e;
      }
    }
    push(Tok::String, value, b);
    return pos;
  }

  const std::string& src_;
  const std::string& origin_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex(const std::string& source, const std::string& origin) {
  // As Jinja's default keep_trailing_newline=False: one trailing newline is dropped.
  std::string src = source;
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(src, origin).run();
}

}  // namespace s0::jinja
