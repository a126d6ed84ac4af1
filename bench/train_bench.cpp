// CPU time of one S0 training step for 8 sequences of 300 tokens (55% prompt) on the random
// Qwen3.5-0.8B-shaped model: forward (with tape) and backward separately, and peak memory.
//   build/bench/train_bench [sequences=8] [tokens=300] [reps=2] [--recompute]
#include <cstdlib>
#include <cstring>

#include "bench/model_bench_common.h"
#include "model/arch/registry.h"
#include "model/backward.h"
#include "model/forward.h"
#include "ops/cpu/cross_entropy.h"

using namespace s0;

int main(int argc, char** argv) {
  std::vector<const char*> pos;
  bool recompute = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recompute") == 0) recompute = true;
    else pos.push_back(argv[i]);
  }
  const int64_t n_seq = pos.size() > 0 ? std::atoll(pos[0]) : 8;
  const int64_t T = pos.size() > 1 ? std::atoll(pos[1]) : 300;
  const int reps = pos.size() > 2 ? std::atoi(pos[2]) : 2;
  const auto dir = bench::qwen35_08b_dir();
  const HybridModel model = load_model(dir);
  StateSet states;
  for (const auto& r : model.recurrent) states.states.push_back(Tensor::zeros(r.state_shape));
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> rows;
  std::vector<int32_t> targets;
  const int64_t P = static_cast<int64_t>(0.55 * static_cast<double>(T));
  for (int64_t s = 0; s < n_seq; ++s) {
    std::vector<int64_t> ids(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) ids[i] = (s * 104729 + i * 7919) % model.vocab;
    for (int64_t t = P - 1; t < T - 1; ++t) {
      rows.push_back(s * T + t);
      targets.push_back(static_cast<int32_t>(ids[t + 1]));
    }
    seqs.push_back(ids);
  }
  PackedBatch batch = PackedBatch::from_sequences(seqs, std::vector<const StateSet*>(seqs.size(), &states));
  const int64_t R = static_cast<int64_t>(rows.size());
  std::vector<float> weights(static_cast<size_t>(R), 1.0f / static_cast<float>(R));
  double best_f = 1e30, best_b = 1e30;
  for (int r = 0; r < reps + 1; ++r) {  // the first run pages the weights in
    ForwardTape tape;
    tape.recompute = recompute;
    ForwardOptions opt;
    opt.logit_rows = rows;
    opt.tape = &tape;
    auto t0 = std::chrono::steady_clock::now();
    ForwardOutput out = forward(model, batch, opt);
    Tensor d = Tensor::zeros({R, model.vocab});
    ops::cross_entropy_forward_backward(out.logits.f32(), targets.data(), weights.data(), R, model.vocab, d.f32_mut());
    const double f = bench::seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    backward(model, batch, tape, rows, d);
    const double b = bench::seconds_since(t0);
    if (r > 0) {
      best_f = std::min(best_f, f);
      best_b = std::min(best_b, b);
    }
  }
  std::printf("%lld sequences x %lld tokens (%lld completion rows)%s: forward+loss %.2f s, backward %.2f s, "
              "backward/forward %.2f, step %.2f s, peak memory %.2f GiB\n",
              static_cast<long long>(n_seq), static_cast<long long>(T), static_cast<long long>(R),
              recompute ? " with recomputation" : "", best_f, best_b, best_b / best_f, best_f + best_b,
              bench::peak_rss_gib());
  return 0;
}
