#include "tokenizer/byte_level.h"

#include <unordered_map>

#include "tokenizer/utf8.h"

namespace s0::byte_level {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others are moved to
// U+0100 and up in byte order.
std::array<char32_t, 256> build_code_points() {
  std::array<char32_t, 256> cps{};
  char32_t next_extra = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cps[b] = printable ? static_cast<char32_t>(b) : next_extra++;
  }
  return cps;
}

const std::array<char32_t, 256>& code_points() {
  static const std::array<char32_t, 256> cps = build_code_points();
  return cps;
}

const std::unordered_map<char32_t, unsigned char>& unicode_to_byte() {
  static const std::unordered_map<char32_t, unsigned char> table = [] {
    std::unordered_map<char32_t, unsigned char> t;
    for (int b = 0; b < 256; ++b) t[code_points()[b]] = static_cast<unsigned char>(b);
    return t;
  }();
  return table;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    for (int b = 0; b < 256; ++b) utf8::append(t[b], code_points()[b]);
    return t;
  }();
  return table;
}

void encode(std::string_view bytes, std::string& out) {
  // Every code point of the alphabet is below U+0200, so at most two UTF-8 bytes per byte.
  struct Packed {
    char bytes[2];
    unsigned char size;
  };
  static const std::array<Packed, 256> packed = [] {
    std::array<Packed, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const std::string& s = byte_to_unicode()[b];
      t[b].size = static_cast<unsigned char>(s.size());
      for (size_t k = 0; k < s.size(); ++k) t[b].bytes[k] = s[k];
    }
    return t;
  }();
  size_t at = out.size();
  out.resize(at + 2 * bytes.size());
  char* w = out.data() + at;
  for (char c : bytes) {
    const Packed& p = packed[static_cast<unsigned char>(c)];
    w[0] = p.bytes[0];
    w[1] = p.bytes[1];
    w += p.size;
  }
  out.resize(static_cast<size_t>(w - out.data()));
}

std::optional<std::string> decode(std::string_view token) {
  const auto& table = unicode_to_byte();
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    auto it = table.find(utf8::next(token, i));
    if (it == table.end()) return std::nullopt;
    out += static_cast<char>(it->second);
  }
  return out;
}

}  // namespace s0::byte_level
