#pragma once
// What was lately made from a table of integers, kept by the table's contents: the GPU backend's
// uploads of the small per-call tables (ops/cuda/device_args.h). A decode step makes most of them
// again unchanged, layer after layer (positions, offsets) and step after step (the addresses of the
// sequences' states, conv windows and KV caches); a table equal to a kept one gets the kept thing,
// so only what changed is made again. The least recently used entry makes room for a new one. Not
// thread-safe: the caller locks.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace s0 {

template <typename T>
class RecentTables {
 public:
  explicit RecentTables(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // The thing kept for (`tag`, `table`), else make()'s, kept from now on. `tag` tells apart tables
  // that are equal but must not be shared (the GPU they live on).
  template <typename Make>
  T get(int64_t tag, const std::vector<int64_t>& table, Make make) {
    const uint64_t hash = hash_of(tag, table);
    ++clock_;
    for (Entry& e : entries_)
      if (e.hash == hash && e.tag == tag && e.table == table) {
        e.used = clock_;
        return e.value;
      }
    Entry fresh{tag, hash, table, make(), clock_};
    if (entries_.size() < capacity_) {
      entries_.push_back(std::move(fresh));
      return entries_.back().value;
    }
    Entry* oldest = &entries_.front();
    for (Entry& e : entries_)
      if (e.used < oldest->used) oldest = &e;
    *oldest = std::move(fresh);
    return oldest->value;
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t tag;
    uint64_t hash;
    std::vector<int64_t> table;
    T value;
    uint64_t used;  // clock_ at the last get that returned it
  };

  // FNV-1a's step over whole 64-bit words (one multiply a value: a table is hashed at every get),
  // only to skip most unequal entries quickly; equality is decided by the values themselves.
  static uint64_t hash_of(int64_t tag, const std::vector<int64_t>& table) {
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](int64_t v) { h = (h ^ static_cast<uint64_t>(v)) * 0x100000001b3ull; };
    mix(tag);
    mix(static_cast<int64_t>(table.size()));
    for (const int64_t v : table) mix(v);
    return h;
  }

  std::vector<Entry> entries_;
  size_t capacity_;
  uint64_t clock_ = 0;
};

}  // namespace s0
