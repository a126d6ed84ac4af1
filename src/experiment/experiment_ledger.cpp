#include "experiment/experiment_ledger.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/digest.h"
#include "core/error.h"
#include "io/file.h"

namespace s0 {
namespace {

// The first input whose value differs, for the error message.
std::string first_difference(const Json& was, const Json& now) {
  for (auto& [key, value] : now.items())
    if (!was.contains(key) || was[key] != value)
      return "\"" + key + "\" was " + (was.contains(key) ? was[key].dump() : "absent") + ", now " + value.dump();
  for (auto& [key, value] : was.items())
    if (!now.contains(key)) return "\"" + key + "\" was " + value.dump() + ", now absent";
  return "the stage differs";
}

// Tests stop a run after N stages (as a kill would, between stages) through this variable.
int stop_after() {
  const char* v = std::getenv("S0_EXPERIMENT_STOP_AFTER");
  return v && *v ? std::atoi(v) : -1;
}

}  // namespace

std::filesystem::path made_from_path(const std::filesystem::path& output) {
  std::filesystem::path p = output;
  return p.replace_filename(output.filename().string() + ".made-from.json");
}

std::string file_digest(const std::filesystem::path& path) { return content_digest(read_file(path)); }

bool StageLedger::done(const std::string& stage, const std::filesystem::path& output, const Json& made_from) const {
  const std::filesystem::path record = made_from_path(output);
  if (!resume_ || !std::filesystem::exists(record)) return false;
  const Json was = load_json_file(record);
  if (was == Json{{"stage", stage}, {"made_from", made_from}} && std::filesystem::exists(output)) return true;
  if (was.value("stage", "") != stage || !was.contains("made_from"))
    fail(record.string(), ": not the record of stage \"", stage, "\"; this folder holds another experiment");
  if (was["made_from"] != made_from)
    fail(output.string(), " was made from other inputs (", first_difference(was["made_from"], made_from),
         "): resume with the experiment's own arguments, or use a new --out");
  return false;
}

void StageLedger::run(const std::string& stage, const std::filesystem::path& output, const Json& made_from,
                      const std::function<void()>& make) {
  if (done(stage, output, made_from)) {
    std::printf("s0 experiment: %s: done earlier (%s)\n", stage.c_str(), output.c_str());
    std::fflush(stdout);
    return;
  }
  std::printf("s0 experiment: %s\n", stage.c_str());
  std::fflush(stdout);
  const std::filesystem::path record = made_from_path(output);
  std::filesystem::remove(record);  // a stage being remade is not done until it is
  const auto start = std::chrono::steady_clock::now();
  make();
  write_file_atomic(record, Json{{"stage", stage}, {"made_from", made_from}}.dump(2) + "\n");
  std::printf("s0 experiment: %s: done in %.1f s\n", stage.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::fflush(stdout);
  const int stop = stop_after();
  if (++made_ == stop) fail("stopped after ", stop, " stages, as S0_EXPERIMENT_STOP_AFTER asks");
}

}  // namespace s0
