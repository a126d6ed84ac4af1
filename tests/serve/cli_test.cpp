// `s0 serve` as a user runs it: the listening line, SIGTERM draining every admitted request (their
// streams end with [DONE] and the text `s0 generate` gives) before a clean exit, and bad flags.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "ops/gpu_compare.h"
#include "serve/serve_support.h"
#include "serve/served_model.h"

using namespace s0;
using namespace std::chrono_literals;

namespace {

// An `s0 serve` process with its stdout on a pipe; killed (and reaped) if still running at the end.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> all = {"serve"};
      all.insert(all.end(), args.begin(), args.end());
      test::exec_s0(all);
    }
    ::close(out[1]);
    out_ = out[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }
  // The port from the "listening on http://HOST:PORT" line; 0 if it does not come within 30 s.
  int port() {
    std::string line;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) break;
      line += c;
    }
    first_line_ = line;
    const size_t at = line.find("127.0.0.1:");
    return at == std::string::npos ? 0 : std::atoi(line.c_str() + at + 10);
  }
  // The listening line port() read.
  const std::string& first_line() const { return first_line_; }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status, or -1 if the process has not exited within `patience`.
  int wait_exit(std::chrono::seconds patience) {
    const auto until = std::chrono::steady_clock::now() + patience;
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string first_line_;
};

TEST(ServeCli, SigtermDrainsEveryAdmittedRequestThenExits) {
  const test::ModelFolder folder(4096);
  const Json ask = {{"model", "warm"}, {"prompt", "go on"}, {"max_tokens", 200}, {"temperature", 0}, {"stream", true}};
  const test::CliResult cli = test::run_s0({"generate", "--threads", "1", "--model", folder.model, "--adapter",
                                            folder.warm, "--prompt", "go on", "--max-new-tokens", "200"});
  ASSERT_EQ(cli.status, 0) << cli.err;
  const std::string want = cli.out.substr(0, cli.out.size() - 1);

  // One slot: the first request runs while the others wait in the queue, enough of them that the
  // server is still busy well after the signal.
  const int requests = 24;
  ServeProcess server({"--model", folder.model, "--adapter", "warm=" + folder.warm, "--port", "0", "--max-batch", "1",
                       "--max-queue", std::to_string(requests), "--threads", "1"});
  const int port = server.port();
  ASSERT_GT(port, 0);
  std::vector<std::unique_ptr<test::RawClient>> clients;
  for (int i = 0; i < requests; ++i) {
    clients.push_back(std::make_unique<test::RawClient>(port));
    ASSERT_TRUE(clients.back()->send_all(test::raw_post("/v1/completions", ask.dump())));
  }
  // Signal once every request is admitted (and before any could have ended: nothing is read yet).
  double admitted = 0;
  for (int spin = 0; spin < 2000 && admitted < requests; ++spin) {
    admitted = test::metric(test::http_get(port, "/metrics").body, "s0_requests_running{model=\"warm\"}");
    if (admitted < requests) std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(admitted, requests);
  server.signal(SIGTERM);
  // Draining (once the signal is taken): it says so, and takes no new work.
  test::HttpReply health = test::http_get(port, "/health");
  for (int spin = 0; spin < 2000 && health.status == 200; ++spin) {
    std::this_thread::sleep_for(5ms);
    health = test::http_get(port, "/health");
  }
  EXPECT_EQ(health.status, 503) << health.body;
  const test::HttpReply late = test::http_post(port, "/v1/completions", {{"model", "warm"}, {"prompt", "late"}});
  EXPECT_TRUE(late.status == 0 || late.status == 503) << late.status << " " << late.body;
  // Every admitted request, queued ones included, runs to its end.
  for (auto& c : clients) {
    c->read_to_end(60s);
    const size_t body = c->received().find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << c->received();
    const test::SseStream s = test::parse_sse(c->received().substr(body));
    EXPECT_TRUE(s.done);
    EXPECT_EQ(s.text(), want);
  }
  EXPECT_EQ(server.wait_exit(30s), 0);
}

// The listening line says how many sequences decode together: 16 on the CPU unless --max-batch
// (--eager, which only turns off a GPU's CUDA graphs, changes nothing there).
TEST(ServeCli, ListeningLineNamesTheBatch) {
  const test::ModelFolder folder;
  for (const auto& [flags, want] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "up to 16 sequences at once"},
           {{"--max-batch", "3"}, "up to 3 sequences at once"},
           {{"--eager"}, "up to 16 sequences at once"}}) {
    std::vector<std::string> args = {"--model", folder.model, "--port", "0", "--device", "cpu", "--threads", "1"};
    args.insert(args.end(), flags.begin(), flags.end());
    ServeProcess server(args);
    ASSERT_GT(server.port(), 0);
    EXPECT_NE(server.first_line().find(want), std::string::npos) << server.first_line();
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(30s), 0);
  }
}

TEST(ServeCli, BadFlagsAreOneLineErrors) {
  const test::ModelFolder folder;
  auto expect_error = [](const std::vector<std::string>& args, const std::string& needle) {
    const test::CliResult r = test::run_s0(args);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  expect_error({"serve", "--model", folder.model, "--device", "cuda:7"}, "cuda:7: ");  // no such GPU, or no CUDA
  expect_error({"serve", "--model", folder.model, "--device", "cpu", "--dtype", "f16"}, "--dtype");
  expect_error({"serve", "--model", folder.model, "--adapter", "warm"}, "expected NAME=DIR");
  expect_error({"serve", "--model", folder.model, "--adapter", "x=/nonexistent/adapter"}, "adapter x");
  const test::TempDir other;
  expect_error({"serve", "--model", folder.model, "--adapter",
                "x=" + test::write_adapter_for(other / "a", test::small_dims(32), 0.5f)},
               "state shape");
  expect_error({"serve", "--model", folder.model, "--port", "70000"}, "--port");
  expect_error({"serve", "--model", folder.model, "--max-batch", "0"}, "--max-batch");
  expect_error({"serve", "--model", folder.model, "--host", "192.0.2.1", "--port", "0"}, "cannot listen");
}

}  // namespace

// `s0 serve --device cuda` answers a completion with the text `s0 generate --device cuda` gives.
TEST(ServeCli, AnswersOnTheGpu) {
  S0_REQUIRE_GPU();
  const test::ModelFolder folder;
  const test::CliResult cli = test::run_s0({"generate", "--device", "cuda", "--dtype", "f32", "--model", folder.model,
                                            "--adapter", folder.warm, "--prompt", "go on", "--max-new-tokens", "40"});
  ASSERT_EQ(cli.status, 0) << cli.err;
  const std::string want = cli.out.substr(0, cli.out.size() - 1);
  ServeProcess server({"--model", folder.model, "--adapter", "warm=" + folder.warm, "--port", "0", "--device", "cuda",
                       "--dtype", "f32"});
  const int port = server.port();
  ASSERT_GT(port, 0);
  // A small model on a GPU: the default batch is the cap.
  EXPECT_NE(server.first_line().find("up to 256 sequences at once"), std::string::npos) << server.first_line();
  const test::HttpReply r = test::http_post(
      port, "/v1/completions", {{"model", "warm"}, {"prompt", "go on"}, {"max_tokens", 40}, {"temperature", 0}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["choices"][0]["text"].get<std::string>(), want);
  EXPECT_FALSE(want.empty());
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(30s), 0);
}
