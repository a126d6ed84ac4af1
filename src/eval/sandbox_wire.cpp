#include "eval/sandbox_wire.h"

#include <cstring>
#include <type_traits>

namespace s0 {

namespace {

struct Writer {
  std::string bytes;
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void put(const std::string& s) {
    put(static_cast<uint64_t>(s.size()));
    bytes += s;
  }
};

// Reads what Writer wrote; `ok` turns false (and stays) at the first field past the end.
struct Reader {
  const std::string& bytes;
  size_t at = 0;
  bool ok = true;
  template <typename T>
  void get(T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!ok || bytes.size() - at < sizeof value) {
      ok = false;
      return;
    }
    std::memcpy(&value, bytes.data() + at, sizeof value);
    at += sizeof value;
  }
  void get(std::string& s) {
    uint64_t n = 0;
    get(n);
    if (!ok || bytes.size() - at < n) {
      ok = false;
      return;
    }
    s.assign(bytes, at, n);
    at += n;
  }
  bool whole() const { return ok && at == bytes.size(); }
};

// Every field of a RunResult in wire order, one list for both directions so that they cannot
// drift apart: f(field) for each, const or not as `res` is.
template <typename Result, typename F>
void for_each_field(Result& res, F&& f) {
  f(res.status);
  f(res.exit_code);
  f(res.out);
  f(res.err);
  f(res.out_truncated);
  f(res.err_truncated);
  f(res.seconds);
}

}  // namespace

std::string encode_request(const RunRequest& request) {
  Writer w;
  w.put(request.program);
  w.put(request.limits);  // plain numbers only
  return w.bytes;
}

std::optional<RunRequest> decode_request(const std::string& bytes) {
  Reader r{bytes};
  RunRequest request;
  r.get(request.program);
  r.get(request.limits);
  if (!r.whole()) return std::nullopt;
  return request;
}

std::string encode_answer(const RunAnswer& answer) {
  Writer w;
  w.put(answer.result.has_value());
  if (!answer.result) {
    w.put(answer.error);
    return w.bytes;
  }
  for_each_field(*answer.result, [&w](const auto& field) { w.put(field); });
  return w.bytes;
}

std::optional<RunAnswer> decode_answer(const std::string& bytes) {
  Reader r{bytes};
  RunAnswer answer;
  bool has_result = false;
  r.get(has_result);
  if (!has_result) {
    r.get(answer.error);
  } else {
    for_each_field(answer.result.emplace(), [&r](auto& field) { r.get(field); });
  }
  if (!r.whole()) return std::nullopt;
  return answer;
}

}  // namespace s0
