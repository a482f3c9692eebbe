// flowex: the command line front door. `flowex <command> [options]`; `flowex --help` lists commands.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "command.hpp"

namespace flowex::cli {
std::vector<Command>& Commands() {
    static std::vector<Command> commands;
    return commands;
}
}  // namespace flowex::cli

namespace {
void Usage(std::FILE* out) {
    auto& cmds = flowex::cli::Commands();
    std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::fprintf(out, "usage: flowex <command> [options]\n\ncommands:\n");
    for (const auto& c : cmds) {
        std::fprintf(out, "  %-12s %s\n", c.name.c_str(), c.summary.c_str());
    }
    std::fprintf(out, "\n`flowex <command> --help` describes a command's options.\n");
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
        std::strcmp(argv[1], "help") == 0) {
        Usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string name = argv[1];
    for (const auto& c : flowex::cli::Commands()) {
        if (c.name == name) {
            std::string prog = "flowex " + name;
            argv[1] = prog.data();
            return c.run(argc - 1, argv + 1);
        }
    }
    std::fprintf(stderr, "flowex: unknown command '%s'\n\n", name.c_str());
    Usage(stderr);
    return 2;
}
