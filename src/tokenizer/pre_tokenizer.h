#pragma once
// The "pre_tokenizer" section of tokenizer.json: splits a normalized segment into the pieces the
// model encodes one by one (and, for ByteLevel, rewrites them into the byte-level alphabet).
// Stages push each piece on to the next as soon as it is cut, so no list of all the pieces of a
// long text is ever built.
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "io/json.h"

namespace s0 {

// A non-owning reference to a callable taking one piece: called once per piece, where a
// std::function would cost an allocation or an indirect copy per stage.
class PieceSink {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, PieceSink>>>
  PieceSink(F&& f)  // NOLINT: implicit, so lambdas can be passed directly
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* obj, std::string_view piece) { (*static_cast<std::remove_reference_t<F>*>(obj))(piece); }) {}
  void operator()(std::string_view piece) const { call_(obj_, piece); }

 private:
  void* obj_;
  void (*call_)(void*, std::string_view);
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Passes the pieces of `text` to `sink`, in order; empty pieces are dropped.
  virtual void split(std::string_view text, PieceSink sink) const = 0;
};

// Supported: Split (Regex or String pattern; behaviors Isolated, Removed, MergedWithPrevious,
// MergedWithNext, Contiguous; invert), ByteLevel (add_prefix_space, use_regex), Digits, Sequence.
// null gives nullptr. Anything else is an error naming the type and `origin`.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& spec, const std::string& origin);

}  // namespace s0
