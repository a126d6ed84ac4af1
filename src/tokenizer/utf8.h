#pragma once
// UTF-8 helpers shared by the tokenizer and the template engine. Text that reaches the tokenizer
// may be any bytes; it is made valid once, at the entrance, by the lossy rule below, so that every
// later stage (PCRE2 without UTF checks, utf8proc, the BPE) may assume valid UTF-8.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace s0::utf8 {

// Number of bytes at the end of `s` that begin a sequence which is not complete yet but could
// still become valid when more bytes arrive (0 to 3). Used by incremental decoding.
size_t incomplete_tail(std::string_view s);

// Replaces every ill-formed subsequence by U+FFFD following the Unicode "maximal subpart"
// practice (one U+FFFD per maximal prefix of a valid sequence, and one per other invalid byte).
// This is what Rust's String::from_utf8_lossy and the WHATWG TextDecoder (node, the JS
// reference) both do, so ids match the reference for the same bytes.
std::string sanitize(std::string_view s);
bool is_valid(std::string_view s);

// Decodes the code point starting at s[i] (s must be valid UTF-8) and advances i past it.
char32_t next(std::string_view s, size_t& i);
void append(std::string& out, char32_t cp);
std::u32string to_u32(std::string_view s);
std::string from_u32(std::u32string_view s);
size_t length(std::string_view s);  // in code points

}  // namespace s0::utf8
