#pragma once
// Each `s0 <command>` lives in its own cli/cmd_*.cpp and registers itself with S0_COMMAND, so
// adding a command touches no shared list. A command's setup declares its options on the CLI11
// subcommand and returns the function that runs it (exit status as the result).
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace s0::cli {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App&)>;

struct Command {
  std::string name;
  std::string help;
  Setup setup;
};

std::vector<Command>& registry();

struct Registrar {
  Registrar(std::string name, std::string help, Setup setup) {
    registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace s0::cli

#define S0_CONCAT_INNER(a, b) a##b
#define S0_CONCAT(a, b) S0_CONCAT_INNER(a, b)
#define S0_COMMAND(name, help, setup) \
  static const ::s0::cli::Registrar S0_CONCAT(s0_command_, __LINE__)(name, help, setup)
