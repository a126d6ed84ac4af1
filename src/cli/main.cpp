// The `s0` binary: a thin dispatcher over the library. Errors from bad input arrive as s0::Error
// and are printed as one line on stderr with exit status 1.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/command.h"
#include "core/error.h"

namespace s0::cli {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace s0::cli

int main(int argc, char** argv) {
  using namespace s0::cli;
  CLI::App app{"s0: S0 tuning of hybrid recurrent-attention language models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "s0 0.1.0");
  auto& commands = registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::map<CLI::App*, Runner> runners;
  try {
    for (const Command& c : commands) {
      CLI::App* sub = app.add_subcommand(c.name, c.help);
      runners[sub] = c.setup(*sub);
    }
  } catch (const std::exception& e) {
    std::cerr << "s0: internal error while declaring commands: " << e.what() << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
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
