// The logits of the last position of one prompt, as raw little-endian float32 [vocab], for comparing
// s0 with another engine on the same weights (bench/llama_cpp/compare.sh checks llama.cpp's against
// them before timing anything).
//   build/bench/logits_dump [--dtype f32|bf16] [--model DIR] OUT.f32 ID ID ...
// DIR defaults to the random Qwen3.5-0.8B-shaped benchmark checkpoint (written if missing).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/model_bench_common.h"
#include "io/atomic_file.h"

using namespace s0;

namespace {

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "logits_dump: %s\nusage: logits_dump [--dtype f32|bf16] [--model DIR] OUT.f32 ID ID ...\n",
               what.c_str());
  std::exit(2);
}

int64_t parse_id(const char* s) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0) usage_error(std::string("token id '") + s + "' is not a non-negative integer");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<DType> dtype = bench::take_dtype_flag(argc, argv);
  std::filesystem::path dir;
  int arg = 1;
  if (arg + 1 < argc && std::strcmp(argv[arg], "--model") == 0) {
    dir = argv[arg + 1];
    arg += 2;
  }
  if (argc - arg < 2) usage_error("expected an output file and at least one token id");
  const std::filesystem::path out = argv[arg++];
  std::vector<int64_t> ids;
  for (; arg < argc; ++arg) ids.push_back(parse_id(argv[arg]));
  if (dir.empty()) dir = bench::qwen35_08b_dir();

  const HybridModel model = bench::load_bench_model(dir, dtype);
  const PackedBatch batch = PackedBatch::from_sequences({ids});
  validate_batch(model, batch);
  ForwardOptions opt;
  opt.logit_rows = {static_cast<int64_t>(ids.size()) - 1};
  const Tensor logits = forward(model, batch, opt).logits;
  write_file_atomic(out, std::string_view(reinterpret_cast<const char*>(logits.f32()),
                                          static_cast<size_t>(logits.numel()) * sizeof(float)));
  std::printf("wrote %lld logits of position %zu to %s\n", static_cast<long long>(logits.numel()), ids.size() - 1,
              out.c_str());
  return 0;
}
