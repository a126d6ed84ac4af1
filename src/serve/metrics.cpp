#include "serve/metrics.h"

#include <sstream>

namespace s0::serve {

namespace {

constexpr double kTtftBounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::finished: return "finished";
    case Outcome::cancelled: return "cancelled";
    case Outcome::failed: return "failed";
    case Outcome::rejected: return "rejected";
  }
  return "?";
}

// A label value as the text format wants it: backslash, quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

ServeMetrics::PerModel& ServeMetrics::of(const std::string& model) {
  PerModel& m = models_[model];
  if (m.ttft_buckets.empty()) m.ttft_buckets.assign(std::size(kTtftBounds), 0);
  return m;
}

void ServeMetrics::started(const std::string& model) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++of(model).in_flight;
}

void ServeMetrics::first_token(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerModel& m = of(model);
  for (size_t b = 0; b < std::size(kTtftBounds); ++b)
    if (seconds <= kTtftBounds[b]) ++m.ttft_buckets[b];
  m.ttft_sum += seconds;
  ++m.ttft_count;
}

void ServeMetrics::ended(const std::string& model, Outcome outcome, int64_t prompt_tokens, int64_t completion_tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerModel& m = of(model);
  --m.in_flight;
  ++m.requests[outcome];
  m.prompt_tokens += static_cast<uint64_t>(prompt_tokens);
  m.completion_tokens += static_cast<uint64_t>(completion_tokens);
}

void ServeMetrics::rejected(const std::string& model) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++of(model).requests[Outcome::rejected];
}

std::string ServeMetrics::render(size_t running, size_t waiting, int64_t max_batch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream o;
  header(o, "s0_requests_total", "counter", "requests by served model and outcome");
  for (const auto& [name, m] : models_)
    for (const auto& [outcome, n] : m.requests)
      o << "s0_requests_total{model=\"" << label(name) << "\",outcome=\"" << outcome_name(outcome) << "\"} " << n << "\n";
  header(o, "s0_requests_running", "gauge", "requests started and not yet ended, by served model");
  for (const auto& [name, m] : models_) o << "s0_requests_running{model=\"" << label(name) << "\"} " << m.in_flight << "\n";
  header(o, "s0_prompt_tokens_total", "counter", "prompt tokens of ended requests");
  for (const auto& [name, m] : models_) o << "s0_prompt_tokens_total{model=\"" << label(name) << "\"} " << m.prompt_tokens << "\n";
  header(o, "s0_completion_tokens_total", "counter", "generated tokens of ended requests");
  for (const auto& [name, m] : models_)
    o << "s0_completion_tokens_total{model=\"" << label(name) << "\"} " << m.completion_tokens << "\n";
  header(o, "s0_time_to_first_token_seconds", "histogram", "from the request's arrival to its first generated token");
  for (const auto& [name, m] : models_) {
    const std::string l = label(name);
    for (size_t b = 0; b < std::size(kTtftBounds); ++b)
      o << "s0_time_to_first_token_seconds_bucket{model=\"" << l << "\",le=\"" << kTtftBounds[b] << "\"} "
        << m.ttft_buckets[b] << "\n";
    o << "s0_time_to_first_token_seconds_bucket{model=\"" << l << "\",le=\"+Inf\"} " << m.ttft_count << "\n";
    o << "s0_time_to_first_token_seconds_sum{model=\"" << l << "\"} " << m.ttft_sum << "\n";
    o << "s0_time_to_first_token_seconds_count{model=\"" << l << "\"} " << m.ttft_count << "\n";
  }
  header(o, "s0_sequences_running", "gauge", "sequences in the running batch");
  o << "s0_sequences_running " << running << "\n";
  header(o, "s0_sequences_waiting", "gauge", "sequences queued for a slot");
  o << "s0_sequences_waiting " << waiting << "\n";
  header(o, "s0_batch_occupancy", "gauge", "running sequences over the batch size");
  o << "s0_batch_occupancy " << static_cast<double>(running) / static_cast<double>(max_batch) << "\n";
  return o.str();
}

}  // namespace s0::serve
