// Encode throughput of s0's tokenizer on a few MB of mixed code and prose (the text written by
// bench/tokenizer_js/make_corpus.mjs; bench/run_tokenizer_bench.sh runs everything and compares
// with the JavaScript reference). Prints the cold first encode, then Google Benchmark's warm
// encodes of the whole text (word cache filled) and of its lines one by one (many short texts,
// like training examples), and summary lines in MB/s (10^6 bytes, wall clock).
// Environment: S0_TOKENIZER_MODEL (folder with tokenizer.json), S0_TOKENIZER_TEXT (text file).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "io/file.h"
#include "tokenizer/tokenizer.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint32_t fnv1a(const std::vector<int32_t>& ids) {
  uint32_t h = 0x811c9dc5u;
  for (int32_t id : ids) h = (h ^ static_cast<uint32_t>(id)) * 0x01000193u;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  const char* model = std::getenv("S0_TOKENIZER_MODEL");
  const char* text_file = std::getenv("S0_TOKENIZER_TEXT");
  if (!model || !text_file) {
    std::fprintf(stderr, "set S0_TOKENIZER_MODEL and S0_TOKENIZER_TEXT (see bench/run_tokenizer_bench.sh)\n");
    return 2;
  }
  const s0::Tokenizer tok = s0::Tokenizer::load(model);
  const std::string text = s0::read_file(text_file);
  const double mb = static_cast<double>(text.size()) / 1e6;

  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = tok.encode(text);
  std::printf("s0 cold: %.2f MB/s ids=%zu fnv=%x\n", mb / seconds_since(t0), ids.size(), fnv1a(ids));

  std::vector<std::string_view> lines;
  for (size_t pos = 0;;) {
    size_t nl = text.find('\n', pos);
    lines.push_back(std::string_view(text).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  auto encode_lines = [&] {
    std::vector<int32_t> all;
    for (std::string_view line : lines) {
      std::vector<int32_t> ids = tok.encode(line);
      all.insert(all.end(), ids.begin(), ids.end());
    }
    return all;
  };
  std::vector<int32_t> line_ids = encode_lines();

  // Wall time of every measured iteration, per benchmark.
  double seconds[2] = {0, 0};
  int64_t runs[2] = {0, 0};
  auto measure = [&](int which, auto&& encode) {
    return [&, which, encode](benchmark::State& state) {
      for (auto _ : state) {
        auto t = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(encode());
        seconds[which] += seconds_since(t);
        ++runs[which];
      }
      state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
    };
  };
  benchmark::RegisterBenchmark("encode_warm", measure(0, [&] { return tok.encode(text); }))->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("encode_lines", measure(1, encode_lines))->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("s0 warm: %.2f MB/s\n", mb * static_cast<double>(runs[0]) / seconds[0]);
  std::printf("s0 lines: %.2f MB/s ids=%zu fnv=%x\n", mb * static_cast<double>(runs[1]) / seconds[1], line_ids.size(),
              fnv1a(line_ids));
  return 0;
}
