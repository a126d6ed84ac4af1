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
// text is a list of alternating matched / unmatched spans, combined according to `behavior`.
void split_by(const Regex& regex, Behavior behavior, bool invert, const std::string& text,
              std::vector<std::string>& out) {
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  matches.clear();
  regex.find_all(text, matches);
  struct Span {
    size_t b, e;
    bool match;
  };
  thread_local std::vector<Span> spans;
  spans.clear();
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev < b) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size()) spans.push_back({prev, text.size(), invert});

  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.emplace_back(text, b, e - b);
  };
  if (behavior == Behavior::Isolated || behavior == Behavior::Removed) {
    for (const Span& s : spans) {
      if (behavior == Behavior::Isolated || !s.match) emit(s.b, s.e);
    }
    return;
  }
  // The merging behaviors glue a span to the one before it under tokenizers' rules.
  auto joins_previous = [&](size_t j) {
    const Span& prev_span = spans[j - 1];
    const Span& cur = spans[j];
    switch (behavior) {
      case Behavior::MergedWithPrevious: return cur.match && !prev_span.match;
      case Behavior::MergedWithNext: return prev_span.match && !cur.match;
      default: return cur.match == prev_span.match;  // Contiguous
    }
  };
  size_t start = 0;
  for (size_t j = 1; j < spans.size(); ++j) {
    if (!joins_previous(j)) {
      emit(start, spans[j].b);
      start = spans[j].b;
    }
  }
  emit(start, text.size());
}

// Applies `f(piece, out)` to every piece, collecting the results in place of the pieces.
template <typename F>
void split_each(std::vector<std::string>& pieces, F&& f) {
  thread_local std::vector<std::string> out;
  out.clear();
  for (const std::string& p : pieces) f(p, out);
  pieces.swap(out);
}

class Split : public PreTokenizer {
 public:
  Split(std::unique_ptr<Regex> regex, Behavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void apply(std::vector<std::string>& pieces) const override {
    split_each(pieces, [&](const std::string& p, std::vector<std::string>& out) {
      split_by(*regex_, behavior_, invert_, p, out);
    });
  }

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
  void apply(std::vector<std::string>& pieces) const override {
    if (add_prefix_space_) {
      for (std::string& p : pieces) if (!p.empty() && p[0] != ' ') p.insert(p.begin(), ' ');
    }
    if (regex_) {
      split_each(pieces, [&](const std::string& p, std::vector<std::string>& out) {
        split_by(*regex_, Behavior::Isolated, false, p, out);
      });
    }
    std::string mapped;
    for (std::string& p : pieces) {
      mapped.clear();
      byte_level::encode(p, mapped);
      p.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Digits : public PreTokenizer {
 public:
  Digits(bool individual, const std::string& origin)
      : regex_(individual ? R"(\p{N})" : R"(\p{N}+)", origin) {}
  void apply(std::vector<std::string>& pieces) const override {
    split_each(pieces, [&](const std::string& p, std::vector<std::string>& out) {
      split_by(regex_, Behavior::Isolated, false, p, out);
    });
  }

 private:
  Regex regex_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void apply(std::vector<std::string>& pieces) const override {
    for (const auto& p : parts_) p->apply(pieces);
  }

 private:
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
