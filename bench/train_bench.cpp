// CPU time of one S0 training step for 8 sequences of 300 tokens (55% prompt) on the random
// Qwen3.5-0.8B-shaped model, through the trainer's own objective: the forward with the loss
// (objective_only) and the whole step (objective_and_gradient); the backward is their difference.
// Steady state: a first step warms the buffer pool, as in any training run after its first step.
// Peak memory is the process's maximum resident size. `--dtype bf16` trains in the CPU's bf16 mode
// (the default of `s0 train` for a bf16 checkpoint such as this one); unset, the f32 (exactness) mode.
//   build/bench/train_bench [sequences=8] [tokens=300] [reps=2] [--recompute] [--dtype f32|bf16]
#include <cstdlib>
#include <cstring>

#include "bench/model_bench_common.h"
#include "model/arch/registry.h"
#include "tune/objective.h"

using namespace s0;

int main(int argc, char** argv) {
  const std::optional<DType> dtype = bench::take_dtype_flag(argc, argv);
  std::vector<const char*> pos;
  ObjectiveOptions opt;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recompute") == 0) opt.recompute = true;
    else pos.push_back(argv[i]);
  }
  const int64_t n_seq = pos.size() > 0 ? std::atoll(pos[0]) : 8;
  const int64_t T = pos.size() > 1 ? std::atoll(pos[1]) : 300;
  const int reps = pos.size() > 2 ? std::atoi(pos[2]) : 2;
  const HybridModel model = bench::load_bench_model(bench::qwen35_08b_dir(), dtype.value_or(DType::F32));
  StateSet states;
  for (const auto& r : model.recurrent) states.states.push_back(Tensor::zeros(r.state_shape));
  std::vector<Example> examples;
  const int64_t P = static_cast<int64_t>(0.55 * static_cast<double>(T));
  for (int64_t s = 0; s < n_seq; ++s) {
    Example e{std::vector<int64_t>(static_cast<size_t>(T)), P};
    for (int64_t i = 0; i < T; ++i) e.ids[i] = (s * 104729 + i * 7919) % model.vocab;
    examples.push_back(e);
  }
  objective_and_gradient(model, examples, states, opt);  // pages in the weights and the activation buffers
  const double fwd = bench::best_of(reps, [&] { objective_only(model, examples, states, opt); });
  const double step = bench::best_of(reps, [&] { objective_and_gradient(model, examples, states, opt); });
  std::printf("%lld sequences x %lld tokens%s: forward+loss %.2f s, backward %.2f s, backward/forward %.2f, "
              "step %.2f s, peak memory %.2f GiB\n",
              static_cast<long long>(n_seq), static_cast<long long>(T), opt.recompute ? " with recomputation" : "",
              fwd, step - fwd, (step - fwd) / fwd, step, bench::peak_rss_gib());
  return 0;
}
