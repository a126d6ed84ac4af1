// The `s0` binary: a thin dispatcher over the library. Errors from bad input arrive as s0::Error
// (or, for the command line itself, CLI11's ParseError) and are printed as one line
// `s0: error: ...` on stderr with exit status 1; --help and --version print and exit 0.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/command.h"
#include "cli/validators.h"
#include "core/error.h"
#include "ops/threads.h"

namespace s0::cli {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

// CLI11's message on one line, with a pointer to the help of the command that was being parsed.
int usage_error(const CLI::App& app, const CLI::ParseError& e) {
  std::string message = e.what();
  std::replace(message.begin(), message.end(), '\n', ' ');
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  const std::string help = parsed.empty() ? "s0 --help" : "s0 " + parsed.front()->get_name() + " --help";
  if (parsed.empty()) {
    const std::vector<std::string> extra = app.remaining();
    if (extra.empty()) std::cerr << app.help();  // bare `s0`: show what there is
    else if (extra.front().rfind("-", 0) != 0) message = "unknown command \"" + extra.front() + "\"";
  }
  std::cerr << "s0: error: " << message << " (run '" << help << "')\n";
  return 1;
}

}  // namespace
}  // namespace s0::cli

int main(int argc, char** argv) {
  using namespace s0::cli;
  CLI::App app{"s0: S0 tuning of hybrid recurrent-attention language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "s0 0.1.0");
  auto& commands = registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::map<CLI::App*, Runner> runners;
  const int cores = s0::ops::available_cores();
  int threads = cores;
  try {
    for (const Command& c : commands) {
      CLI::App* sub = app.add_subcommand(c.name, c.help);
      runners[sub] = c.setup(*sub);
      // Results do not depend on it (reductions are order-fixed); only the speed does.
      sub->add_option("--threads", threads, "CPU threads for the compute (default: every core, here " +
                                                std::to_string(cores) + ")")
          ->check(between(1, 4.0 * cores));
      guard_numeric_options(*sub);
    }
  } catch (const std::exception& e) {
    std::cerr << "s0: internal error while declaring commands: " << e.what() << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return usage_error(app, e);
  }
  try {
    s0::ops::set_compute_threads(threads);
    for (CLI::App* sub : app.get_subcommands()) return runners.at(sub)();
  } catch (const s0::Error& e) {
    std::cerr << "s0: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "s0: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "s0: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
