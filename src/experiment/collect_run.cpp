#include "experiment/collect_run.h"

#include <iostream>

#include "io/file.h"
#include "io/json.h"

namespace s0 {

CollectSummary collect_training_data(const HarnessRequest& harness, const std::filesystem::path& out) {
  const CompletionFileRun request = harness.request();
  return write_training_data(request, harness.run(request), out);
}

CollectSummary write_training_data(const CompletionFileRun& request, const CheckedRun& run,
                                   const std::filesystem::path& out) {
  if (!run.warning.empty()) std::cerr << "s0: " << run.warning << "\n";
  std::string lines;
  CollectSummary s;
  s.problems = run.records.size();
  for (size_t i = 0; i < run.records.size(); ++i) {
    const ProblemRecord& r = run.records[i];
    s.samples += r.n;
    s.correct += r.c;
    if (!r.first_correct) continue;
    lines += Json{{"prompt", run.problems[i].prompt}, {"completion", *r.first_correct}}.dump() + "\n";
    ++s.kept;
  }
  write_file_atomic(out, lines);
  std::cout << "s0 collect: " << benchmark_name(request.benchmark) << ", split " << split_name(request.split) << ": "
            << s.correct << " of " << s.samples << " samples correct; kept one for " << s.kept << " of " << s.problems
            << " problems -> " << out.string() << "\n";
  if (run.skipped) std::cout << "  (" << run.skipped << " completion lines were for problems outside the split)\n";
  if (s.kept == 0)
    std::cerr << "s0: warning: no problem has a correct completion; " << out.string() << " is empty\n";
  else if (s.kept < kFewTrainingSolutions)
    std::cerr << "s0: warning: only " << s.kept << " verified solutions (fewer than " << kFewTrainingSolutions
              << "); the paper needs about 25 for stable gains\n";
  return s;
}

}  // namespace s0
