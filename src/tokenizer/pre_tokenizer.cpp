#include "tokenizer/pre_tokenizer.h"

#include <utility>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"

namespace s0 {
namespace {

enum class Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const std::string& name, const std::string& origin) {
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "Removed") return Behavior::Removed;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  fail(origin, ": unsupported Split behavior \"", name, "\"");
}

// Cuts `text` at the matches of `regex` the way tokenizers' NormalizedString::split does: the
// text is a run of alternating unmatched / matched spans, and `behavior` says which neighbouring
// spans stay together. Spans are produced one at a time, so pieces stream out.
void split_by(const Regex& regex, Behavior behavior, bool invert, std::string_view text, PieceSink sink) {
  auto emit = [&](size_t b, size_t e) {
    if (e > b) sink(text.substr(b, e - b));
  };
  // Whether a span joins the piece of the span before it.
  auto joins_previous = [&](bool prev_match, bool match) {
    switch (behavior) {
      case Behavior::MergedWithPrevious: return match && !prev_match;
      case Behavior::MergedWithNext: return prev_match && !match;
      case Behavior::Contiguous: return match == prev_match;
      default: return false;
    }
  };
  size_t piece_start = 0;
  bool first = true, prev_match = false;
  auto span = [&](size_t b, size_t e, bool match) {
    if (behavior == Behavior::Removed) {
      if (!match) emit(b, e);
      return;
    }
    if (!first && !joins_previous(prev_match, match)) {
      emit(piece_start, b);
      piece_start = b;
    }
    first = false;
    prev_match = match;
  };
  size_t pos = 0, b, e;
  while (pos < text.size() && regex.find(text, pos, b, e)) {
    if (pos < b) span(pos, b, invert);
    span(b, e, !invert);
    pos = e;
  }
  if (pos < text.size()) span(pos, text.size(), invert);
  if (behavior != Behavior::Removed) emit(piece_start, text.size());
}

class Split : public PreTokenizer {
 public:
  Split(std::unique_ptr<Regex> regex, Behavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void split(std::string_view text, PieceSink sink) const override { split_by(*regex_, behavior_, invert_, text, sink); }

 private:
  std::unique_ptr<Regex> regex_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's own splitting regex, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& origin)
      : add_prefix_space_(add_prefix_space),
        regex_(use_regex ? std::make_unique<Regex>(kGpt2Pattern, origin) : nullptr) {}
  void split(std::string_view text, PieceSink sink) const override {
    if (text.empty()) return;
    std::string prefixed;
    if (add_prefix_space_ && text[0] != ' ') {
      prefixed.reserve(text.size() + 1);
      prefixed.append(1, ' ').append(text);
      text = prefixed;
    }
    auto map_and_emit = [&](std::string_view piece) {
      std::string mapped;
      byte_level::encode(piece, mapped);
      sink(mapped);
    };
    if (regex_) split_by(*regex_, Behavior::Isolated, false, text, map_and_emit);
    else map_and_emit(text);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Digits : public PreTokenizer {
 public:
  Digits(bool individual, const std::string& origin)
      : regex_(individual ? R"(\p{N})" : R"(\p{N}+)", origin) {}
  void split(std::string_view text, PieceSink sink) const override {
    split_by(regex_, Behavior::Isolated, false, text, sink);
  }

 private:
  Regex regex_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void split(std::string_view text, PieceSink sink) const override { run(0, text, sink); }

 private:
  // Feeds every piece stage `k` cuts from `text` straight into stage k + 1.
  void run(size_t k, std::string_view text, PieceSink sink) const {
    if (k == parts_.size()) return sink(text);
    parts_[k]->split(text, [&](std::string_view piece) { run(k + 1, piece, sink); });
  }

  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& spec, const std::string& origin) {
  if (spec.is_null()) return nullptr;
  std::string type = json_string(spec, "type", origin + " pre_tokenizer");
  if (type == "Split") {
    std::string where = origin + " Split pre_tokenizer";
    const Json& pattern = json_field(spec, "pattern", where);
    std::unique_ptr<Regex> regex;
    if (pattern.contains("Regex")) regex = std::make_unique<Regex>(json_string(pattern, "Regex", where), where);
    else if (pattern.contains("String")) regex = std::make_unique<Regex>(json_string(pattern, "String", where), where, true);
    else fail(where, ": pattern must hold \"Regex\" or \"String\"");
    return std::make_unique<Split>(std::move(regex), parse_behavior(json_string(spec, "behavior", where), where),
                                   json_bool_or(spec, "invert", false, where));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(json_bool_or(spec, "add_prefix_space", true, origin),
                                       json_bool_or(spec, "use_regex", true, origin), origin);
  }
  if (type == "Digits") return std::make_unique<Digits>(json_bool_or(spec, "individual_digits", false, origin), origin);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const Json& p : json_field(spec, "pretokenizers", origin + " Sequence pre_tokenizer")) {
      if (auto t = make_pre_tokenizer(p, origin)) parts.push_back(std::move(t));
    }
    return std::make_unique<Sequence>(std::move(parts));
  }
  fail(origin, ": unsupported pre_tokenizer type \"", type, "\"");
}

}  // namespace s0
