#pragma once
// GPT-2's byte-level alphabet: every byte is shown as one printable code point, so a BPE
// vocabulary over these code points covers any byte string. The tables are built once.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace s0::byte_level {

// The UTF-8 encoding of the code point standing for each byte.
const std::array<std::string, 256>& byte_to_unicode();

// Maps each byte of `bytes` to its code point (appended to `out`).
void encode(std::string_view bytes, std::string& out);

// The bytes a byte-level token stands for, or nothing when some code point of `token` is not in
// the alphabet (the ByteLevel decoder then keeps the token's own bytes, as Hugging Face does).
std::optional<std::string> decode(std::string_view token);

}  // namespace s0::byte_level
