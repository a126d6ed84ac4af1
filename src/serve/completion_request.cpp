#include "serve/completion_request.h"

#include <cmath>

#include "serve/api_error.h"

namespace s0::serve {

namespace {

const Json* field(const Json& body, const std::string& key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<std::string> opt_string(const Json& body, const std::string& key) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw bad_request(key + " must be a string", key);
  return v->get<std::string>();
}

std::optional<bool> opt_bool(const Json& body, const std::string& key) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw bad_request(key + " must be true or false", key);
  return v->get<bool>();
}

std::optional<double> opt_number(const Json& body, const std::string& key) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw bad_request(key + " must be a number", key);
  const double d = v->get<double>();
  if (!std::isfinite(d)) throw bad_request(key + " must be finite", key);
  return d;
}

std::optional<int64_t> opt_int(const Json& body, const std::string& key) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw bad_request(key + " is too large", key);
  if (!v->is_number_integer()) throw bad_request(key + " must be an integer", key);
  return v->get<int64_t>();
}

// Fields asking for what s0 does not do are refused, not ignored: the client would get an
// answer to a question it did not ask. Their neutral values pass.
void refuse_unsupported(const Json& body) {
  auto refuse_if = [&](const std::string& key, bool asked) {
    if (asked) throw bad_request(key + " is not supported by s0 serve", key);
  };
  const Json* v = nullptr;
  v = field(body, "logprobs");
  refuse_if("logprobs", v && !(v->is_boolean() && !v->get<bool>()) && !(v->is_number() && v->get<double>() == 0));
  v = field(body, "top_logprobs");
  refuse_if("top_logprobs", v && !(v->is_number() && v->get<double>() == 0));
  v = field(body, "echo");
  refuse_if("echo", v && !(v->is_boolean() && !v->get<bool>()));
  v = field(body, "best_of");
  refuse_if("best_of", v && !(v->is_number() && v->get<double>() == 1));
  refuse_if("suffix", field(body, "suffix") != nullptr);
  for (const char* key : {"presence_penalty", "frequency_penalty"}) {
    v = field(body, key);
    refuse_if(key, v && !(v->is_number() && v->get<double>() == 0));
  }
  for (const char* key : {"logit_bias", "tools", "functions"}) {
    v = field(body, key);
    refuse_if(key, v && !((v->is_object() || v->is_array()) && v->empty()));
  }
  v = field(body, "response_format");
  refuse_if("response_format", v && !(v->is_object() && v->value("type", "") == "text"));
}

// A message's content: a string, or an array of text parts (joined).
std::string message_content(const Json& m, size_t i) {
  const std::string where = "messages[" + std::to_string(i) + "].content";
  const Json* c = field(m, "content");
  if (!c) return "";
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) throw bad_request(where + " must be a string or an array of text parts", where);
  std::string text;
  for (const Json& part : *c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      throw bad_request(where + ": only parts {\"type\": \"text\", \"text\": ...} are supported", where);
    text += part["text"].get<std::string>();
  }
  return text;
}

jinja::OrderedJson read_messages(const Json& body) {
  const Json* m = field(body, "messages");
  if (!m) throw bad_request("messages is required", "messages");
  if (!m->is_array() || m->empty()) throw bad_request("messages must be a non-empty array", "messages");
  jinja::OrderedJson out = jinja::OrderedJson::array();
  for (size_t i = 0; i < m->size(); ++i) {
    const Json& msg = (*m)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object()) throw bad_request(where + " must be an object", where);
    const std::optional<std::string> role = opt_string(msg, "role");
    if (!role) throw bad_request(where + ".role is required", where + ".role");
    out.push_back({{"role", *role}, {"content", message_content(msg, i)}});
  }
  return out;
}

// A completions prompt: a string, a one-string array, or an array of token ids.
void read_prompt(const Json& body, CompletionRequest& r) {
  const Json* p = field(body, "prompt");
  if (!p) throw bad_request("prompt is required", "prompt");
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
    return;
  }
  if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt = (*p)[0].get<std::string>();
    return;
  }
  if (p->is_array() && !p->empty() && std::all_of(p->begin(), p->end(), [](const Json& t) { return t.is_number_integer(); })) {
    r.prompt_ids = p->get<std::vector<int64_t>>();
    return;
  }
  throw bad_request("prompt must be a string or an array of token ids (one prompt per request)", "prompt");
}

}  // namespace

CompletionRequest parse_completion_request(const Json& body, bool chat) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  CompletionRequest r;
  r.chat = chat;
  const std::optional<std::string> model = opt_string(body, "model");
  if (!model) throw bad_request("model is required", "model");
  r.model = *model;
  refuse_unsupported(body);
  if (chat) {
    r.messages = read_messages(body);
    if (const Json* kw = field(body, "chat_template_kwargs")) {
      if (!kw->is_object()) throw bad_request("chat_template_kwargs must be an object", "chat_template_kwargs");
      r.enable_thinking = opt_bool(*kw, "enable_thinking");
    }
  } else {
    read_prompt(body, r);
  }
  r.max_tokens = opt_int(body, chat && field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
  if (r.max_tokens && *r.max_tokens < 1) throw bad_request("max_tokens must be at least 1", "max_tokens");
  r.temperature = opt_number(body, "temperature").value_or(1.0);
  if (r.temperature < 0) throw bad_request("temperature must be 0 (greedy) or positive", "temperature");
  r.top_p = opt_number(body, "top_p").value_or(1.0);
  if (!(r.top_p > 0 && r.top_p <= 1)) throw bad_request("top_p must be in (0, 1]", "top_p");
  r.top_k = opt_int(body, "top_k").value_or(0);
  if (r.top_k < -1) throw bad_request("top_k must be -1 or 0 (all tokens) or positive", "top_k");
  if (r.top_k == -1) r.top_k = 0;
  if (const std::optional<int64_t> seed = opt_int(body, "seed")) r.seed = static_cast<uint64_t>(*seed);
  if (const Json* stop = field(body, "stop")) {
    if (stop->is_string()) r.stop = {stop->get<std::string>()};
    else if (stop->is_array() && std::all_of(stop->begin(), stop->end(), [](const Json& s) { return s.is_string(); }))
      r.stop = stop->get<std::vector<std::string>>();
    else throw bad_request("stop must be a string or an array of strings", "stop");
    for (const std::string& s : r.stop)
      if (s.empty()) throw bad_request("stop strings must not be empty", "stop");
  }
  r.n = opt_int(body, "n").value_or(1);
  if (r.n < 1) throw bad_request("n must be at least 1", "n");
  r.stream = opt_bool(body, "stream").value_or(false);
  if (const Json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw bad_request("stream_options must be an object", "stream_options");
    r.include_usage = opt_bool(*so, "include_usage").value_or(false);
  }
  return r;
}

}  // namespace s0::serve
