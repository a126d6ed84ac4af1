#pragma once
// The server's counters in the Prometheus text format (GET /metrics): per served model (the base
// model or an adapter) requests by outcome, requests in flight, tokens in and out and a histogram
// of the time to first token; for the engine, running and waiting sequences and batch occupancy.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace s0::serve {

enum class Outcome { finished, cancelled, failed, rejected };

class ServeMetrics {
 public:
  void started(const std::string& model);
  void first_token(const std::string& model, double seconds);
  // A started request's end, with its token counts.
  void ended(const std::string& model, Outcome outcome, int64_t prompt_tokens, int64_t completion_tokens);
  // A request refused before it started (bad input, full queue, ...).
  void rejected(const std::string& model);
  std::string render(size_t running_sequences, size_t waiting_sequences, int64_t max_batch) const;

 private:
  struct PerModel {
    std::map<Outcome, uint64_t> requests;
    int64_t in_flight = 0;
    uint64_t prompt_tokens = 0, completion_tokens = 0;
    std::vector<uint64_t> ttft_buckets;  // cumulative counts per bound in kTtftBounds
    double ttft_sum = 0;
    uint64_t ttft_count = 0;
  };
  PerModel& of(const std::string& model);

  mutable std::mutex mutex_;
  std::map<std::string, PerModel> models_;
};

}  // namespace s0::serve
