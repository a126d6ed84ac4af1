#include "tokenizer/bpe.h"

#include <cstdio>
#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace s0 {

Bpe::Bpe(const Json& spec, const std::string& origin) {
  std::string where = origin + " model";
  std::string type = json_string(spec, "type", where);
  if (type != "BPE") fail(origin, ": unsupported model type \"", type, "\" (only BPE is supported)");
  if (spec.contains("dropout") && !spec["dropout"].is_null()) fail(where, ": BPE dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (spec.contains(key) && spec[key].is_string() && !spec[key].get<std::string>().empty()) {
      fail(where, ": BPE ", key, " is not supported");
    }
  }
  byte_fallback_ = json_bool_or(spec, "byte_fallback", false, where);
  ignore_merges_ = json_bool_or(spec, "ignore_merges", false, where);

  const Json& vocab = json_field(spec, "vocab", where);
  if (!vocab.is_object()) fail(where, ": \"vocab\" must be an object of token -> id");
  vocab_.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) fail(where, ": vocab id of ", token, " is not a non-negative integer");
    int32_t i = id.get<int32_t>();
    vocab_.emplace(token, i);
    if (static_cast<size_t>(i) >= tokens_.size()) tokens_.resize(i + 1);
    tokens_[i] = token;
  }

  small_chars_.assign(0x200, -1);
  for (char32_t c = 0; c < 0x200; ++c) {
    std::string s;
    utf8::append(s, c);
    if (auto it = vocab_.find(s); it != vocab_.end()) small_chars_[c] = it->second;
  }

  const Json& merges = json_field(spec, "merges", where);
  merges_.reserve(merges.size());
  int32_t rank = 0;
  for (const Json& m : merges) {
    std::string a, b;
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      size_t space = s.find(' ');
      if (space == std::string::npos) fail(where, ": merge \"", s, "\" is not two tokens separated by a space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      fail(where, ": merge #", rank, " is neither \"a b\" nor [a, b]");
    }
    auto ia = vocab_.find(a), ib = vocab_.find(b), ir = vocab_.find(a + b);
    if (ia == vocab_.end() || ib == vocab_.end() || ir == vocab_.end()) {
      fail(where, ": merge #", rank, " (", a, " ", b, ") uses a token missing from the vocabulary");
    }
    // The first occurrence of a pair wins, as in tokenizers.
    merges_.emplace(pair_key(ia->second, ib->second), Merge{rank, ir->second});
    ++rank;
  }

  if (spec.contains("unk_token") && spec["unk_token"].is_string()) {
    auto it = vocab_.find(spec["unk_token"].get<std::string>());
    if (it == vocab_.end()) fail(where, ": unk_token is not in the vocabulary");
    unk_ = it->second;
  }
}

std::optional<int32_t> Bpe::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

// One symbol per code point. A code point missing from the vocabulary becomes its <0xXX> byte
// tokens under byte_fallback, else the unknown token, else nothing (tokenizers drops it).
void Bpe::initial_symbols(std::string_view piece, std::vector<int32_t>& out) const {
  for (size_t i = 0; i < piece.size();) {
    size_t start = i;
    char32_t cp = utf8::next(piece, i);
    if (cp < small_chars_.size() && small_chars_[cp] >= 0) {
      out.push_back(small_chars_[cp]);
      continue;
    }
    std::string_view ch = piece.substr(start, i - start);
    if (auto it = vocab_.find(ch); it != vocab_.end()) {
      out.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      std::vector<int32_t> bytes;
      for (unsigned char c : ch) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", c);
        auto b = vocab_.find(std::string_view(name));
        if (b == vocab_.end()) {
          all = false;
          break;
        }
        bytes.push_back(b->second);
      }
      if (all) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    if (unk_) out.push_back(*unk_);
  }
}

// The merge loop: symbols form a doubly linked list; candidate pairs wait in a min-heap ordered
// by (rank, position) and are re-checked when popped, since a neighbour may have merged first.
// This applies, at each step, the lowest-ranked merge present, leftmost first: the same order
// as tokenizers' Word::merge_all.
void Bpe::merge_word(std::string_view piece, std::vector<int32_t>& out) const {
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right;  // the ids the pair had when queued
    int32_t result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  // Scratch space reused across words (and private to each encoding thread).
  thread_local std::vector<int32_t> sym;
  thread_local std::vector<int> prev, next;
  thread_local std::vector<Candidate> heap;
  sym.clear();
  heap.clear();
  initial_symbols(piece, sym);
  const int n = static_cast<int>(sym.size());
  if (n <= 1) {
    out.insert(out.end(), sym.begin(), sym.end());
    return;
  }
  prev.resize(n);
  next.resize(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto push = [&](int pos) {
    int r = next[pos];
    if (r < 0) return;
    auto it = merges_.find(pair_key(sym[pos], sym[r]));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, pos, sym[pos], sym[r], it->second.result});
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    Candidate c = heap.back();
    heap.pop_back();
    int r = next[c.pos];
    if (sym[c.pos] < 0 || r < 0 || sym[c.pos] != c.left || sym[r] != c.right) continue;  // stale
    sym[c.pos] = c.result;
    sym[r] = -1;
    next[c.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.pos;
    if (prev[c.pos] >= 0) push(prev[c.pos]);
    push(c.pos);
  }
  for (int i = 0; i >= 0; i = next[i]) out.push_back(sym[i]);
}

void Bpe::encode(std::string_view piece, std::vector<int32_t>& ids) const {
  if (ignore_merges_) {
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  if (piece.size() >= kCacheMaxPiece) {
    merge_word(piece, ids);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_index_.find(piece); it != cache_index_.end()) {
      int32_t start = it->second;
      int32_t len = cache_ids_[start];
      ids.insert(ids.end(), cache_ids_.begin() + start + 1, cache_ids_.begin() + start + 1 + len);
      return;
    }
  }
  size_t before = ids.size();
  merge_word(piece, ids);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_index_.size() < kCacheCapacity && cache_index_.find(piece) == cache_index_.end()) {
    // Stored as [length, ids...] in one flat array.
    cache_index_.emplace(std::string(piece), static_cast<int32_t>(cache_ids_.size()));
    cache_ids_.push_back(static_cast<int32_t>(ids.size() - before));
    cache_ids_.insert(cache_ids_.end(), ids.begin() + before, ids.end());
  }
}

}  // namespace s0
