#pragma once
// `--quiet` for every long command: no progress on stderr (core/progress.h). Results, warnings and
// errors are still written.
#include <CLI/CLI.hpp>

#include "core/progress.h"

namespace s0::cli {

inline void add_quiet_flag(CLI::App& app, bool& quiet) {
  app.add_flag("--quiet", quiet,
               "no progress on stderr (by default a redrawn bar on a terminal, else a line every 5 seconds)");
}

}  // namespace s0::cli
