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
  const RunResult& res = *answer.result;
  w.put(res.status);
  w.put(res.exit_code);
  w.put(res.out);
  w.put(res.err);
  w.put(res.out_truncated);
  w.put(res.err_truncated);
  w.put(res.seconds);
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
    RunResult& res = answer.result.emplace();
    r.get(res.status);
    r.get(res.exit_code);
    r.get(res.out);
    r.get(res.err);
    r.get(res.out_truncated);
    r.get(res.err_truncated);
    r.get(res.seconds);
  }
  if (!r.whole()) return std::nullopt;
  return answer;
}

}  // namespace s0
