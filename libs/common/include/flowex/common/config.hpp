#pragma once
/// Typed configuration from command-line flags and their environment twins, validated at
/// start-up. Precedence: flag > environment > default. Every binary gets `--help`.
///
///     std::string listen = "127.0.0.1:8347";
///     flowex::common::Config cfg("client-gateway", "The public API of flowex.");
///     cfg.String("listen", "FLOWEX_LISTEN", &listen, "host:port to listen on");
///     cfg.ParseOrExit(argc, argv);   // --help → usage, exit 0; bad config → message, exit 2
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/common/result.hpp"

namespace flowex::common {

struct HostPort {
    std::string host;
    std::uint16_t port = 0;

    /// "host:port" or "[v6]:port"; port 0..65535 (0 = pick a free one).
    static Result<HostPort> Parse(std::string_view text);
    std::string ToString() const;
};

/// "250ms", "1.5s", "5m", "2h", "7d", "100us", "10ns"; a bare number is seconds.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
/// Byte sizes: "512", "64KiB", "10MiB", "2GiB", "1GB" (= 10^9), "1MB".
Result<std::int64_t> ParseByteSize(std::string_view text);

/// Environment lookup; returns nullopt when unset. Injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

class Config {
public:
    Config(std::string program, std::string summary);

    Config& String(std::string name, std::string env, std::string* target, std::string help);
    Config& Int(std::string name, std::string env, std::int64_t* target, std::string help,
                std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
    Config& Bool(std::string name, std::string env, bool* target, std::string help);
    Config& Duration(std::string name, std::string env, std::chrono::nanoseconds* target,
                     std::string help);
    Config& Bytes(std::string name, std::string env, std::int64_t* target, std::string help);
    Config& Address(std::string name, std::string env, HostPort* target, std::string help);
    /// Marks the option added last as required (must be set by flag or environment).
    Config& Required();
    /// Marks the option added last as secret: its value is never printed (usage shows
    /// only whether it is set).
    Config& Secret();
    /// Accept positional arguments (otherwise they are an error).
    Config& Positional(std::string usage, std::vector<std::string>* target);

    /// Parses argv (argv[0] is skipped) and the environment. Returns true when --help was
    /// asked for; errors are kValidation with a message naming the option.
    Result<bool> Parse(int argc, const char* const* argv, const EnvLookup& env);
    /// Parse with the real environment: prints usage and exits 0 on --help; prints
    /// "<program>: <message>" and a hint to stderr and exits 2 on bad configuration.
    void ParseOrExit(int argc, const char* const* argv);
    std::string Usage() const;

private:
    enum class Kind { kString, kInt, kBool, kDuration, kBytes, kAddress };
    struct Option {
        std::string name;
        std::string env;
        std::string help;
        Kind kind;
        void* target;
        std::int64_t min = 0;
        std::int64_t max = 0;
        bool required = false;
        bool secret = false;
        bool seen = false;
        std::string default_text;
    };
    Config& Add(Option o);
    Status Apply(Option& o, std::string_view value, std::string_view source);

    std::string program_;
    std::string summary_;
    std::vector<Option> options_;
    std::string positional_usage_;
    std::vector<std::string>* positional_ = nullptr;
};

}  // namespace flowex::common
