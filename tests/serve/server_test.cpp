// `s0 serve` in process on a small model: concurrent clients with mixed adapters answered exactly
// as `s0 generate` answers, streaming equal to whole answers, every bad request an OpenAI error
// object, the queue bound, a client leaving mid-stream, adapters loaded and unloaded under load,
// and a burst of garbage. Everything on 127.0.0.1, every wait bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "serve/serve_support.h"
#include "serve/served_model.h"

using namespace s0;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "sekret";

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new test::ModelFolder();
    serve::ServerOptions o;
    o.scheduler.max_batch = 8;
    o.max_queue = 64;
    o.api_key = kKey;
    server_ = new test::ServerUnderTest(*folder_, o);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete folder_;
  }
  static int port() { return server_->port(); }
  static test::ModelFolder* folder_;
  static test::ServerUnderTest* server_;
};
test::ModelFolder* Serve::folder_ = nullptr;
test::ServerUnderTest* Serve::server_ = nullptr;

struct Case {
  std::string prompt;
  std::string adapter;  // served name: base, warm or cold
  double temperature;
  uint64_t seed;
  int64_t max_tokens;
  bool chat, stream;
  int64_t n = 1;
};

// What `s0 generate` prints for a case (its streamed text, without the final newline), choice by
// choice: choice i is line i of a --prompts file holding the prompt n times.
std::vector<std::string> generate_cli(const test::ModelFolder& f, const Case& c) {
  // One thread: a short run is quicker so on a busy machine, and results do not depend on it. The
  // CPU, as the server under test runs there (the default is a GPU where there is one).
  std::vector<std::string> args = {"generate", "--device", "cpu", "--threads", "1", "--model", f.model,
                                   "--seed", std::to_string(c.seed),
                                   "--temperature", std::to_string(c.temperature), "--max-new-tokens",
                                   std::to_string(c.max_tokens)};
  if (c.adapter != "base") args.insert(args.end(), {"--adapter", c.adapter == "warm" ? f.warm : f.cold});
  if (c.chat) args.push_back("--chat");
  if (c.n == 1) {
    args.insert(args.end(), {"--prompt", c.prompt});
    const test::CliResult r = test::run_s0(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return {r.out.substr(0, r.out.size() - 1)};
  }
  const test::TempDir tmp;
  std::string lines;
  for (int64_t i = 0; i < c.n; ++i) lines += Json{{"prompt", c.prompt}}.dump() + "\n";
  test::write_text(tmp / "p.jsonl", lines);
  args.insert(args.end(), {"--prompts", (tmp / "p.jsonl").string()});
  const test::CliResult r = test::run_s0(args);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> out;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) out.push_back(parse_json(l, "s0 generate")["completion"]);
  return out;
}

Json request_body(const Case& c) {
  Json b = {{"model", c.adapter}, {"temperature", c.temperature}, {"seed", c.seed}, {"max_tokens", c.max_tokens},
            {"stream", c.stream}, {"n", c.n}};
  if (c.chat) b["messages"] = Json::array({{{"role", "user"}, {"content", c.prompt}}});
  else b["prompt"] = c.prompt;
  return b;
}

// The texts of every choice of an answer, streamed or not.
std::vector<std::string> answer_texts(const test::HttpReply& r, const Case& c) {
  std::vector<std::string> texts;
  if (c.stream) {
    const test::SseStream s = test::parse_sse(r.body);
    EXPECT_TRUE(s.done) << r.body;
    for (int64_t i = 0; i < c.n; ++i) texts.push_back(s.text(static_cast<size_t>(i)));
    return texts;
  }
  const Json j = r.json();
  for (const Json& choice : j["choices"])
    texts.push_back(c.chat ? choice["message"]["content"].get<std::string>() : choice["text"].get<std::string>());
  return texts;
}

TEST_F(Serve, ConcurrentClientsWithMixedAdaptersAnswerAsGenerateDoes) {
  std::vector<Case> cases;
  const char* adapters[] = {"base", "warm", "cold"};
  for (int i = 0; i < 32; ++i)
    cases.push_back({"prompt " + std::to_string(i) + std::string(static_cast<size_t>(i % 7), 'x'), adapters[i % 3],
                     i % 2 ? 0.9 : 0.0, static_cast<uint64_t>(100 + i), 4 + i % 9, i % 4 == 3, i % 4 == 1,
                     i % 8 == 6 ? 2 : 1});
  std::vector<std::vector<std::string>> want;
  for (const Case& c : cases) want.push_back(generate_cli(*folder_, c));

  std::vector<test::HttpReply> replies(cases.size());
  std::atomic<int> ready{0};
  std::vector<std::thread> clients;
  for (size_t i = 0; i < cases.size(); ++i)
    clients.emplace_back([&, i] {
      ++ready;
      for (int spin = 0; ready < static_cast<int>(cases.size()) && spin < 5000; ++spin) std::this_thread::sleep_for(1ms);
      replies[i] = test::http_post(port(), cases[i].chat ? "/v1/chat/completions" : "/v1/completions",
                                   request_body(cases[i]), kKey);
    });
  for (std::thread& t : clients) t.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(replies[i].status, 200) << "client " << i << ": " << replies[i].body;
    EXPECT_EQ(answer_texts(replies[i], cases[i]), want[i]) << "client " << i;
  }
  // Usage counts the prompt once and the tokens of every choice.
  const Json j = replies[6].json();
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["usage"]["total_tokens"].get<int64_t>(),
            j["usage"]["prompt_tokens"].get<int64_t>() + j["usage"]["completion_tokens"].get<int64_t>());
  EXPECT_GE(j["usage"]["completion_tokens"].get<int64_t>(), 2);
}

TEST_F(Serve, StreamedChunksConcatenateToTheWholeAnswer) {
  for (bool chat : {false, true}) {
    Case c{"stream me", "warm", 0.8, 7, 20, chat, false, 2};
    const test::HttpReply whole = test::http_post(port(), chat ? "/v1/chat/completions" : "/v1/completions",
                                                  request_body(c), kKey);
    ASSERT_EQ(whole.status, 200) << whole.body;
    c.stream = true;
    Json body = request_body(c);
    body["stream_options"] = {{"include_usage", true}};
    const test::HttpReply streamed =
        test::http_post(port(), chat ? "/v1/chat/completions" : "/v1/completions", body, kKey);
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    const test::SseStream s = test::parse_sse(streamed.body);
    ASSERT_TRUE(s.done);
    const Json w = whole.json();
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(s.text(i), chat ? w["choices"][i]["message"]["content"] : w["choices"][i]["text"]);
      EXPECT_EQ(s.finish_reason(i), w["choices"][i]["finish_reason"]);
    }
    // The usage chunk, last before [DONE], has no choices and the whole answer's counts.
    const Json last = parse_json(s.data.back(), "usage chunk");
    EXPECT_TRUE(last["choices"].empty());
    EXPECT_EQ(last["usage"], w["usage"]);
    // One chunk per generated token (besides a chat choice's opening chunk and every choice's end).
    int64_t token_chunks = 0;
    for (const std::string& d : s.data) {
      const Json j = parse_json(d, "a streamed chunk");
      if (j["choices"].empty()) continue;
      const Json& c = j["choices"][0];
      if (c["finish_reason"].is_null() && !(c.contains("delta") && c["delta"].contains("role"))) ++token_chunks;
    }
    EXPECT_EQ(token_chunks, w["usage"]["completion_tokens"].get<int64_t>());
  }
}

TEST_F(Serve, StopStringsEndTheTextBeforeThem) {
  // A sampled text with an ASCII character past its start (a stop string must be valid UTF-8).
  Case c{"abc", "base", 0.8, 0, 24, false, false};
  std::string text;
  size_t at = std::string::npos;
  for (uint64_t seed = 0; seed < 50 && at == std::string::npos; ++seed) {
    c.seed = seed;
    text = test::http_post(port(), "/v1/completions", request_body(c), kKey).json()["choices"][0]["text"];
    for (size_t i = 2; i < text.size() && at == std::string::npos; ++i)
      if (text[i] > 0x20 && text[i] < 0x7f) at = i;
  }
  ASSERT_NE(at, std::string::npos) << text;
  const std::string stop(1, text[at]);
  for (bool stream : {false, true}) {
    Json body = request_body(c);
    body["stop"] = {stop, "never-in-this-text-\x01"};
    body["stream"] = stream;
    const test::HttpReply r = test::http_post(port(), "/v1/completions", body, kKey);
    ASSERT_EQ(r.status, 200);
    const std::string got = stream ? test::parse_sse(r.body).text() : r.json()["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(got, text.substr(0, text.find(stop)));
  }
}

struct BadCase {
  std::string path, body;
  int status;
  std::string param, type, key = kKey;
};

TEST_F(Serve, BadRequestsAreOpenAIErrorObjects) {
  const std::string long_prompt(300, 'x');  // the byte tokenizer: 300 tokens, past the 256 positions
  const std::vector<BadCase> cases = {
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": ", 400, "", "invalid_request_error"},
      {"/v1/completions", "[1, 2]", 400, "", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"\xff\xfe\"}", 400, "", "invalid_request_error"},
      {"/v1/completions", "{\"prompt\": \"hi\"}", 400, "model", "invalid_request_error"},
      {"/v1/completions", "{\"model\": 7, \"prompt\": \"hi\"}", 400, "model", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\"}", 400, "prompt", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": {\"a\": 1}}", 400, "prompt", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"temperature\": \"hot\"}", 400, "temperature",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"temperature\": -1}", 400, "temperature",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"top_p\": 0}", 400, "top_p", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"top_k\": -2}", 400, "top_k", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"max_tokens\": 1.5}", 400, "max_tokens",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"max_tokens\": 0}", 400, "max_tokens",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"max_tokens\": -4}", 400, "max_tokens",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"max_tokens\": 255}", 400, "max_tokens",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"stream\": \"yes\"}", 400, "stream",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"stop\": 5}", 400, "stop", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"stop\": [\"\"]}", 400, "stop",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"n\": 0}", 400, "n", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"n\": 1000}", 400, "n", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"seed\": \"s\"}", 400, "seed",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\", \"logprobs\": 3}", 400, "logprobs",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"\"}", 400, "prompt", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"" + long_prompt + "\"}", 400, "prompt",
       "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": [1, 99999]}", 400, "prompt", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"nobody\", \"prompt\": \"hi\"}", 404, "model", "not_found_error"},
      {"/v1/chat/completions", "{\"model\": \"base\", \"messages\": \"hi\"}", 400, "messages", "invalid_request_error"},
      {"/v1/chat/completions", "{\"model\": \"base\", \"messages\": []}", 400, "messages", "invalid_request_error"},
      {"/v1/chat/completions", "{\"model\": \"base\", \"messages\": [{\"content\": \"hi\"}]}", 400,
       "messages[0].role", "invalid_request_error"},
      {"/v1/chat/completions", "{\"model\": \"base\", \"messages\": [{\"role\": \"user\", \"content\": 3}]}", 400,
       "messages[0].content", "invalid_request_error"},
      {"/v1/chat/completions", "{\"model\": \"warm\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
       "\"chat_template_kwargs\": 1}", 400, "chat_template_kwargs", "invalid_request_error"},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\"}", 401, "", "authentication_error", ""},
      {"/v1/completions", "{\"model\": \"base\", \"prompt\": \"hi\"}", 401, "", "authentication_error", "wrong"},
      {"/v1/adapters", "{\"name\": \"x\"}", 400, "path", "invalid_request_error"},
      {"/v1/adapters", "{\"name\": \"x\", \"path\": \"/nonexistent/adapter\"}", 400, "path", "invalid_request_error"},
      {"/v1/adapters", "{\"name\": \"warm\", \"path\": \"" + folder_->cold + "\"}", 409, "name",
       "invalid_request_error"},
      {"/v1/adapters", "{\"name\": \"base\", \"path\": \"" + folder_->cold + "\"}", 409, "name",
       "invalid_request_error"},
  };
  for (const BadCase& c : cases) {
    const test::HttpReply r = test::http_post_raw(port(), c.path, c.body, c.key);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    if (r.status != c.status) continue;
    const Json e = r.json()["error"];
    EXPECT_EQ(e["type"], c.type) << c.body;
    EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << c.body;
    if (!c.param.empty()) {
      EXPECT_EQ(e["param"], c.param) << c.body;
    }
  }
  // An adapter folder for another model: 400 saying what differs.
  const test::TempDir other;
  const std::string wrong = test::write_adapter_for(other / "a", test::small_dims(32), 0.5f);
  const test::HttpReply r = test::http_post(port(), "/v1/adapters", {{"name", "wrong"}, {"path", wrong}}, kKey);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("state shape"), std::string::npos) << r.body;
  // Routes and methods that do not exist, and removing what is not there.
  EXPECT_EQ(test::http_get(port(), "/v1/completions", kKey).status, 404);
  EXPECT_EQ(test::http_get(port(), "/nowhere").json()["error"]["type"], "invalid_request_error");
  EXPECT_EQ(test::http_delete(port(), "/v1/adapters/nobody", kKey).status, 404);
  EXPECT_EQ(test::http_delete(port(), "/v1/adapters/base", kKey).status, 400);
  EXPECT_EQ(test::http_get(port(), "/v1/models").status, 401);
  EXPECT_EQ(test::http_get(port(), "/health").status, 200);  // open, like /metrics
}

TEST_F(Serve, AdaptersLoadAndUnloadUnderLoad) {
  const Json models = test::http_get(port(), "/v1/models", kKey).json();
  std::vector<std::string> names;
  for (const Json& m : models["data"]) names.push_back(m["id"]);
  EXPECT_EQ(names, (std::vector<std::string>{"base", "cold", "warm"}));

  // "hot" is the cold adapter's folder at its own alpha: it answers as "cold" does, not as the base.
  ASSERT_EQ(test::http_post(port(), "/v1/adapters", {{"name", "hot"}, {"path", folder_->cold}}, kKey).status, 200);
  Json ask = {{"model", "base"}, {"prompt", "under load"}, {"max_tokens", 12}, {"temperature", 0}};
  const std::string base_text = test::http_post(port(), "/v1/completions", ask, kKey).json()["choices"][0]["text"];
  ask["model"] = "cold";
  const std::string want = test::http_post(port(), "/v1/completions", ask, kKey).json()["choices"][0]["text"];
  ask["model"] = "hot";
  const test::HttpReply first = test::http_post(port(), "/v1/completions", ask, kKey);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json()["choices"][0]["text"], want);
  EXPECT_NE(want, base_text) << "the adapter changes the answer";

  std::atomic<int> answered{0}, wrong{0}, other_status{0};
  std::atomic<bool> gone{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        Json body = ask;
        body["stream"] = (t + i) % 2 == 1;
        const test::HttpReply r = test::http_post(port(), "/v1/completions", body, kKey);
        if (r.status == 404) {
          gone = true;
          return;
        }
        if (r.status != 200) {
          ++other_status;
          return;
        }
        const std::string text =
            body["stream"].get<bool>() ? test::parse_sse(r.body).text() : r.json()["choices"][0]["text"].get<std::string>();
        if (text != want) ++wrong;
        ++answered;
      }
    });
  for (int spin = 0; answered < 12 && spin < 20000; ++spin) std::this_thread::sleep_for(1ms);
  const test::HttpReply unloaded = test::http_delete(port(), "/v1/adapters/hot", kKey);
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(unloaded.status, 200) << unloaded.body;
  EXPECT_GE(answered, 12);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(other_status, 0);
  EXPECT_EQ(test::http_post(port(), "/v1/completions", ask, kKey).status, 404);
  // Loading the same name again works, with the same answer.
  ASSERT_EQ(test::http_post(port(), "/v1/adapters", {{"name", "hot"}, {"path", folder_->cold}}, kKey).status, 200);
  EXPECT_EQ(test::http_post(port(), "/v1/completions", ask, kKey).json()["choices"][0]["text"], want);
  EXPECT_EQ(test::http_delete(port(), "/v1/adapters/hot", kKey).status, 200);
}

TEST_F(Serve, SurvivesABurstOfGarbage) {
  const Json ask = {{"model", "cold"}, {"prompt", "still here?"}, {"max_tokens", 8}, {"temperature", 0}};
  const std::string want = test::http_post(port(), "/v1/completions", ask, kKey).json()["choices"][0]["text"];
  std::mt19937 rng(1234);
  std::vector<std::string> junk = {
      "GET / HTTP/1.1\r\n",  // never finished
      "POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"model\"",  // body cut short
      "POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n",
      "BREW /v1/coffee HTCPCP/1.0\r\n\r\n",
      "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n",
      "GET /health HTTP/1.1\r\n" + std::string(70000, 'h') + ": x\r\n\r\n",
      test::raw_post("/v1/completions", "{\"model\": \"base\", \"prompt\": \"\\ud800\"}", kKey),
      test::raw_post("/v1/completions", std::string("{\"model\": \"base\", \"prompt\": \"\xff\xfe\x80\"}"), kKey),
      test::raw_post("/v1/chat/completions", "{\"model\": \"warm\", \"messages\": [[[[[[[[[[]]]]]]]]]]}", kKey),
  };
  for (int i = 0; i < 40; ++i) {
    std::string bytes(static_cast<size_t>(1 + rng() % 600), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 256);
    junk.push_back(bytes);
  }
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < junk.size(); i += 4) {
        test::RawClient c(port());
        c.send_all(junk[i]);
        c.read_until("\r\n\r\n", 300ms);  // whatever comes first; then hang up
      }
    });
  for (std::thread& t : senders) t.join();
  EXPECT_EQ(test::http_get(port(), "/health").status, 200);
  const test::HttpReply after = test::http_post(port(), "/v1/completions", ask, kKey);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.json()["choices"][0]["text"], want);
}

// One slot and no queue: a second request meets 429 while the first streams; the first client
// hanging up frees the slot at once (long before its 8000 tokens), and the next request is served.
TEST(ServeQueue, FullQueueIs429AndADisconnectFreesTheSlot) {
  const test::ModelFolder folder(16384);
  serve::ServerOptions o;
  o.scheduler.max_batch = 1;
  o.max_queue = 0;
  const test::ServerUnderTest server(folder, o);
  const int port = server.port();
  test::RawClient streaming(port);
  ASSERT_TRUE(streaming.send_all(test::raw_post(
      "/v1/completions",
      Json{{"model", "warm"}, {"prompt", "go on"}, {"max_tokens", 8000}, {"temperature", 1.0}, {"seed", 1}, {"stream", true}}
          .dump())));
  ASSERT_TRUE(streaming.read_until("data: {", 10s)) << streaming.received();

  const test::HttpReply refused = test::http_post(port, "/v1/completions", {{"model", "base"}, {"prompt", "me too"}});
  EXPECT_EQ(refused.status, 429) << refused.body;
  if (refused.status == 429) {
    EXPECT_EQ(refused.json()["error"]["type"], "rate_limit_error");
  }

  streaming.close();
  std::string m;
  for (int spin = 0; spin < 1000; ++spin) {
    m = test::http_get(port, "/metrics").body;
    if (test::metric(m, "s0_requests_total{model=\"warm\",outcome=\"cancelled\"}") == 1 &&
        test::metric(m, "s0_sequences_running") == 0)
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(test::metric(m, "s0_requests_total{model=\"warm\",outcome=\"cancelled\"}"), 1) << m;
  EXPECT_EQ(test::metric(m, "s0_sequences_running"), 0) << m;
  EXPECT_LT(test::metric(m, "s0_completion_tokens_total{model=\"warm\"}"), 8000) << m;
  EXPECT_EQ(test::metric(m, "s0_requests_total{model=\"base\",outcome=\"rejected\"}"), 1) << m;

  const test::HttpReply next = test::http_post(port, "/v1/completions", {{"model", "base"}, {"prompt", "now?"}});
  EXPECT_EQ(next.status, 200) << next.body;
}

}  // namespace
