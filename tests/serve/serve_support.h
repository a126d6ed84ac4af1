#pragma once
// Talking to an `s0 serve` under test, on 127.0.0.1 only and with timeouts everywhere so that no
// test can hang: JSON requests through cpp-httplib's client, server-sent events taken apart, and a
// raw socket for what a well-behaved client never does (leaving mid-stream, sending garbage).
#include <chrono>
#include <string>
#include <vector>

#include "io/json.h"

namespace s0::test {

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed or timed out)
  std::string body;  // without an answer: why not
  Json json() const;
};

// Requests to 127.0.0.1:port with a 30-second timeout; `key` becomes "Authorization: Bearer KEY".
HttpReply http_post(int port, const std::string& path, const Json& body, const std::string& key = "");
HttpReply http_post_raw(int port, const std::string& path, const std::string& body, const std::string& key = "");
HttpReply http_get(int port, const std::string& path, const std::string& key = "");
HttpReply http_delete(int port, const std::string& path, const std::string& key = "");

// A streamed answer taken apart: the `data:` payloads in order (comments skipped).
struct SseStream {
  std::vector<std::string> data;
  bool done = false;  // ended with `data: [DONE]`
  // The text of `choice`, concatenated over its chunks (text, or chat delta content).
  std::string text(size_t choice = 0) const;
  std::string finish_reason(size_t choice = 0) const;
};
SseStream parse_sse(const std::string& body);

// A client on a raw socket: sends `request` as is and reads what comes back.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool send_all(const std::string& bytes);
  // Reads until `needle` has arrived (true) or the deadline passes or the peer closes (false).
  bool read_until(const std::string& needle, std::chrono::milliseconds deadline);
  // Reads until the peer closes or the deadline passes.
  void read_to_end(std::chrono::milliseconds deadline);
  void close();
  const std::string& received() const { return received_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point until);  // false at the deadline or the end

  int fd_ = -1;
  std::string received_;
};

// An HTTP/1.1 POST of a JSON body, as bytes.
std::string raw_post(const std::string& path, const std::string& body, const std::string& key = "");

// The value of a Prometheus sample (the full name with labels, as it appears), or -1 if absent.
double metric(const std::string& metrics_text, const std::string& sample);

}  // namespace s0::test
