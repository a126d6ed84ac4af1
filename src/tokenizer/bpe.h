#pragma once
// The BPE model of tokenizer.json: a vocabulary, ranked merges, and the merge loop that turns one
// pre-tokenized piece into ids. Pieces seen before are answered from a cache.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/json.h"

namespace s0 {

class Bpe {
 public:
  // `spec` is the "model" object; merges may be "a b" strings or ["a", "b"] pairs.
  Bpe(const Json& spec, const std::string& origin);

  // Appends the ids of `piece` to `ids`.
  void encode(std::string_view piece, std::vector<int32_t>& ids) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::vector<std::string>& id_to_token() const { return tokens_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Vocab = std::unordered_map<std::string, int32_t, Hash, std::equal_to<>>;
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void merge_word(std::string_view piece, std::vector<int32_t>& out) const;
  void initial_symbols(std::string_view piece, std::vector<int32_t>& out) const;

  Vocab vocab_;
  // Ids of single code points below U+0200 (-1 when absent): every symbol of a byte-level piece
  // is one, so the first step of a merge needs no hashing.
  std::vector<int32_t> small_chars_;
  std::vector<std::string> tokens_;  // id -> token, empty where the vocabulary has a gap
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;

  // Word cache, shared by the threads that encode with this model. Bounded like tokenizers' own
  // (it stops growing once full, and long pieces are not kept) so long-running processes keep a
  // steady footprint.
  static constexpr size_t kCacheCapacity = 1 << 18;
  static constexpr size_t kCacheMaxPiece = 256;  // bytes
  mutable std::mutex cache_mutex_;
  mutable Vocab cache_index_;  // piece -> offset of its [count, ids...] run in cache_ids_
  mutable std::vector<int32_t> cache_ids_;
};

}  // namespace s0
