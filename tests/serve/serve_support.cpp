#include "serve/serve_support.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

namespace s0::test {

namespace {

httplib::Client client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5);
  c.set_read_timeout(30);
  c.set_write_timeout(10);
  return c;
}

httplib::Headers headers(const std::string& key) {
  httplib::Headers h;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  return h;
}

HttpReply reply_of(const httplib::Result& r) {
  if (!r) return {0, "no answer: " + httplib::to_string(r.error())};
  return {r->status, r->body};
}

}  // namespace

Json HttpReply::json() const { return parse_json(body, "the reply (HTTP " + std::to_string(status) + ")"); }

HttpReply http_post_raw(int port, const std::string& path, const std::string& body, const std::string& key) {
  return reply_of(client(port).Post(path.c_str(), headers(key), body, "application/json"));
}

HttpReply http_post(int port, const std::string& path, const Json& body, const std::string& key) {
  return http_post_raw(port, path, body.dump(), key);
}

HttpReply http_get(int port, const std::string& path, const std::string& key) {
  return reply_of(client(port).Get(path.c_str(), headers(key)));
}

HttpReply http_delete(int port, const std::string& path, const std::string& key) {
  return reply_of(client(port).Delete(path.c_str(), headers(key)));
}

SseStream parse_sse(const std::string& body) {
  SseStream s;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) != 0) continue;  // blank separators and `:` comments
    const std::string payload = line.substr(6);
    if (payload == "[DONE]") s.done = true;
    else s.data.push_back(payload);
  }
  return s;
}

std::string SseStream::text(size_t choice) const {
  std::string out;
  for (const std::string& d : data) {
    const Json j = parse_json(d, "a streamed chunk");
    if (!j.contains("choices")) continue;
    for (const Json& c : j["choices"]) {
      if (c["index"].get<size_t>() != choice) continue;
      if (c.contains("text")) out += c["text"].get<std::string>();
      if (c.contains("delta") && c["delta"].contains("content")) out += c["delta"]["content"].get<std::string>();
    }
  }
  return out;
}

std::string SseStream::finish_reason(size_t choice) const {
  for (const std::string& d : data) {
    const Json j = parse_json(d, "a streamed chunk");
    if (!j.contains("choices")) continue;
    for (const Json& c : j["choices"])
      if (c["index"].get<size_t>() == choice && c["finish_reason"].is_string()) return c["finish_reason"];
  }
  return "";
}

RawClient::RawClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
}

RawClient::~RawClient() { close(); }

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::send_all(const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    if (fd_ < 0) return false;
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawClient::read_some(std::chrono::steady_clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  if (fd_ < 0 || left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[4096];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  received_.append(buf, static_cast<size_t>(n));
  return true;
}

bool RawClient::read_until(const std::string& needle, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (received_.find(needle) == std::string::npos)
    if (!read_some(until)) return false;
  return true;
}

void RawClient::read_to_end(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (read_some(until)) {
  }
}

std::string raw_post(const std::string& path, const std::string& body, const std::string& key) {
  std::string r = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
  return r + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

double metric(const std::string& text, const std::string& sample) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return -1;
}

}  // namespace s0::test
