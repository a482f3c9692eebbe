#pragma once
/// A `flowex` subcommand. Each command lives in its own file under commands/ and registers
/// itself with FLOWEX_COMMAND; main.cpp dispatches `flowex <name> [args…]` to it.
#include <string>
#include <vector>

namespace flowex::cli {

struct Command {
    std::string name;
    std::string summary;  // one line, for `flowex --help`
    /// argv[0] is "flowex <name>"; returns the process exit code (2 for usage errors).
    int (*run)(int argc, char** argv);
};

/// Every registered command, sorted by name.
std::vector<Command>& Commands();

struct Registrar {
    explicit Registrar(Command c) { Commands().push_back(std::move(c)); }
};

}  // namespace flowex::cli

#define FLOWEX_CLI_CONCAT2(a, b) a##b
#define FLOWEX_CLI_CONCAT(a, b) FLOWEX_CLI_CONCAT2(a, b)
/// FLOWEX_COMMAND("traces", "search traces", RunTraces);
#define FLOWEX_COMMAND(name, summary, fn) \
    static ::flowex::cli::Registrar FLOWEX_CLI_CONCAT(flowex_command_, __LINE__)({name, summary, fn})
