#include "flowex/common/config.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>

#include "flowex/common/money.hpp"

namespace flowex::common {
namespace {

Error Bad(std::string msg) { return Error{ErrorCode::kValidation, std::move(msg)}; }

std::string FormatDuration(std::chrono::nanoseconds d) {
    auto ns = d.count();
    if (ns != 0 && ns % 3'600'000'000'000 == 0) { return std::to_string(ns / 3'600'000'000'000) + "h"; }
    if (ns != 0 && ns % 60'000'000'000 == 0) { return std::to_string(ns / 60'000'000'000) + "m"; }
    if (ns % 1'000'000'000 == 0) { return std::to_string(ns / 1'000'000'000) + "s"; }
    if (ns % 1'000'000 == 0) { return std::to_string(ns / 1'000'000) + "ms"; }
    return std::to_string(ns) + "ns";
}

}  // namespace

Result<HostPort> HostPort::Parse(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return Bad("expected [host]:port, got '" + std::string(text) + "'");
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return Bad("expected host:port, got '" + std::string(text) + "'");
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) { return Bad("expected host:port with a host, got '" + std::string(text) + "'"); }
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || port.empty() || value > 65535) {
        return Bad("invalid port in '" + std::string(text) + "'");
    }
    return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string HostPort::ToString() const {
    if (host.find(':') != std::string::npos) { return "[" + host + "]:" + std::to_string(port); }
    return host + ":" + std::to_string(port);
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
    std::size_t unit_at = text.find_first_not_of("0123456789.");
    std::string_view number = text.substr(0, unit_at);
    std::string_view unit = unit_at == std::string_view::npos ? "s" : text.substr(unit_at);
    int scale = 0;  // decimal digits of nanoseconds per unit
    std::int64_t mult = 1;
    if (unit == "ns") {
        scale = 0;
    } else if (unit == "us" || unit == "µs") {
        scale = 3;
    } else if (unit == "ms") {
        scale = 6;
    } else if (unit == "s") {
        scale = 9;
    } else if (unit == "m") {
        scale = 9;
        mult = 60;
    } else if (unit == "h") {
        scale = 9;
        mult = 3600;
    } else if (unit == "d") {
        scale = 9;
        mult = 86400;
    } else {
        return Bad("invalid duration '" + std::string(text) + "' (use e.g. 250ms, 1.5s, 5m, 2h, 7d)");
    }
    auto v = ParseScaled(number, scale, INT64_MAX / mult);
    if (!v || *v < 0) {
        return Bad("invalid duration '" + std::string(text) + "' (use e.g. 250ms, 1.5s, 5m, 2h, 7d)");
    }
    return std::chrono::nanoseconds(*v * mult);
}

Result<std::int64_t> ParseByteSize(std::string_view text) {
    std::size_t unit_at = text.find_first_not_of("0123456789");
    std::string_view number = text.substr(0, unit_at);
    std::string_view unit = unit_at == std::string_view::npos ? "" : text.substr(unit_at);
    std::int64_t mult = 1;
    if (unit.empty() || unit == "B") {
        mult = 1;
    } else if (unit == "KiB" || unit == "K" || unit == "k") {
        mult = 1LL << 10;
    } else if (unit == "MiB" || unit == "M") {
        mult = 1LL << 20;
    } else if (unit == "GiB" || unit == "G") {
        mult = 1LL << 30;
    } else if (unit == "TiB" || unit == "T") {
        mult = 1LL << 40;
    } else if (unit == "KB") {
        mult = 1000;
    } else if (unit == "MB") {
        mult = 1000 * 1000;
    } else if (unit == "GB") {
        mult = 1000LL * 1000 * 1000;
    } else {
        return Bad("invalid size '" + std::string(text) + "' (use e.g. 512MiB, 10GiB)");
    }
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
    if (number.empty() || ec != std::errc() || p != number.data() + number.size() ||
        v > INT64_MAX / mult) {
        return Bad("invalid size '" + std::string(text) + "' (use e.g. 512MiB, 10GiB)");
    }
    return v * mult;
}

EnvLookup ProcessEnv() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (v == nullptr) { return std::nullopt; }
        return std::string(v);
    };
}

Config::Config(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

Config& Config::Add(Option o) {
    options_.push_back(std::move(o));
    return *this;
}

Config& Config::String(std::string name, std::string env, std::string* target, std::string help) {
    return Add(Option{std::move(name), std::move(env), std::move(help), Kind::kString, target, 0, 0,
                      false, false, false, *target});
}
Config& Config::Int(std::string name, std::string env, std::int64_t* target, std::string help,
                    std::int64_t min, std::int64_t max) {
    return Add(Option{std::move(name), std::move(env), std::move(help), Kind::kInt, target, min, max,
                      false, false, false, std::to_string(*target)});
}
Config& Config::Bool(std::string name, std::string env, bool* target, std::string help) {
    return Add(Option{std::move(name), std::move(env), std::move(help), Kind::kBool, target, 0, 0,
                      false, false, false, *target ? "true" : "false"});
}
Config& Config::Duration(std::string name, std::string env, std::chrono::nanoseconds* target,
                         std::string help) {
    return Add(Option{std::move(name), std::move(env), std::move(help), Kind::kDuration, target, 0,
                      0, false, false, false, FormatDuration(*target)});
}
Config& Config::Bytes(std::string name, std::string env, std::int64_t* target, std::string help) {
    return Add(Option{std::move(name), std::move(env), std::move(help), Kind::kBytes, target, 0, 0,
                      false, false, false, std::to_string(*target)});
}
Config& Config::Address(std::string name, std::string env, HostPort* target, std::string help) {
    return Add(Option{std::move(name), std::move(env), std::move(help), Kind::kAddress, target, 0,
                      0, false, false, false, target->host.empty() ? "" : target->ToString()});
}
Config& Config::Required() {
    options_.back().required = true;
    return *this;
}
Config& Config::Secret() {
    options_.back().secret = true;
    return *this;
}
Config& Config::Positional(std::string usage, std::vector<std::string>* target) {
    positional_usage_ = std::move(usage);
    positional_ = target;
    return *this;
}

Status Config::Apply(Option& o, std::string_view value, std::string_view source) {
    auto fail = [&](const std::string& why) {
        // Secrets are never echoed back, even in an error.
        std::string shown = o.secret ? "" : " '" + std::string(value) + "'";
        return Bad("invalid value" + shown + " for " + std::string(source) + ": " + why);
    };
    switch (o.kind) {
        case Kind::kString:
            *static_cast<std::string*>(o.target) = std::string(value);
            break;
        case Kind::kInt: {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
                return fail("expected an integer");
            }
            if (v < o.min || v > o.max) {
                return fail("must be between " + std::to_string(o.min) + " and " +
                            std::to_string(o.max));
            }
            *static_cast<std::int64_t*>(o.target) = v;
            break;
        }
        case Kind::kBool:
            if (value == "true" || value == "1" || value == "yes" || value == "on") {
                *static_cast<bool*>(o.target) = true;
            } else if (value == "false" || value == "0" || value == "no" || value == "off") {
                *static_cast<bool*>(o.target) = false;
            } else {
                return fail("expected true or false");
            }
            break;
        case Kind::kDuration: {
            auto d = ParseDuration(value);
            if (!d) { return fail(d.error().message); }
            *static_cast<std::chrono::nanoseconds*>(o.target) = *d;
            break;
        }
        case Kind::kBytes: {
            auto b = ParseByteSize(value);
            if (!b) { return fail(b.error().message); }
            *static_cast<std::int64_t*>(o.target) = *b;
            break;
        }
        case Kind::kAddress: {
            auto a = HostPort::Parse(value);
            if (!a) { return fail(a.error().message); }
            *static_cast<HostPort*>(o.target) = std::move(a).value();
            break;
        }
    }
    o.seen = true;
    return Ok();
}

Result<bool> Config::Parse(int argc, const char* const* argv, const EnvLookup& env) {
    // Environment first, then flags override.
    for (auto& o : options_) {
        if (o.env.empty()) { continue; }
        if (auto v = env(o.env); v.has_value()) {
            if (auto st = Apply(o, *v, "environment variable " + o.env); !st) { return std::move(st).error(); }
        }
    }
    bool only_positional = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (!only_positional && (arg == "--help" || arg == "-h")) { return true; }
        if (!only_positional && arg == "--") {
            only_positional = true;
            continue;
        }
        if (only_positional || arg.size() < 2 || arg.substr(0, 2) != "--") {
            if (positional_ == nullptr) {
                return Bad("unexpected argument '" + std::string(arg) + "'");
            }
            positional_->emplace_back(arg);
            continue;
        }
        std::string_view body = arg.substr(2);
        std::optional<std::string_view> value;
        if (auto eq = body.find('='); eq != std::string_view::npos) {
            value = body.substr(eq + 1);
            body = body.substr(0, eq);
        }
        Option* found = nullptr;
        for (auto& o : options_) {
            if (o.name == body) { found = &o; }
        }
        bool negated = false;
        if (found == nullptr && body.substr(0, 3) == "no-") {
            for (auto& o : options_) {
                if (o.kind == Kind::kBool && o.name == body.substr(3)) {
                    found = &o;
                    negated = true;
                }
            }
        }
        if (found == nullptr) { return Bad("unknown flag '--" + std::string(body) + "'"); }
        if (!value.has_value()) {
            if (found->kind == Kind::kBool) {
                value = negated ? "false" : "true";
            } else if (i + 1 < argc) {
                value = std::string_view(argv[++i]);
            } else {
                return Bad("flag '--" + found->name + "' needs a value");
            }
        }
        if (auto st = Apply(*found, *value, "--" + found->name); !st) { return std::move(st).error(); }
    }
    for (const auto& o : options_) {
        if (o.required && !o.seen) {
            std::string how = "--" + o.name;
            if (!o.env.empty()) { how += " or " + o.env; }
            return Bad("missing required setting " + how);
        }
    }
    return false;
}

void Config::ParseOrExit(int argc, const char* const* argv) {
    auto r = Parse(argc, argv, ProcessEnv());
    if (!r) {
        std::cerr << program_ << ": " << r.error().message << "\n"
                  << "Run '" << program_ << " --help' for the options.\n";
        std::exit(2);
    }
    if (*r) {
        std::cout << Usage();
        std::exit(0);
    }
}

std::string Config::Usage() const {
    std::string out = "Usage: " + program_ + " [options]";
    if (positional_ != nullptr) { out += " " + positional_usage_; }
    out += "\n\n" + summary_ + "\n\nOptions (flag > environment > default):\n";
    for (const auto& o : options_) {
        std::string line = "  --" + o.name;
        if (o.kind != Kind::kBool) { line += " VALUE"; }
        if (line.size() < 30) { line.append(30 - line.size(), ' '); } else { line += "  "; }
        line += o.help;
        std::vector<std::string> notes;
        if (!o.env.empty()) { notes.push_back("env " + o.env); }
        if (o.required) {
            notes.emplace_back("required");
        } else if (o.secret) {
            notes.emplace_back("secret");
        } else if (!o.default_text.empty()) {
            notes.push_back("default " + o.default_text);
        }
        if (!notes.empty()) {
            line += " [";
            for (std::size_t i = 0; i < notes.size(); ++i) {
                line += (i ? "; " : "") + notes[i];
            }
            line += "]";
        }
        out += line + "\n";
    }
    out += "  --help                      show this help and exit\n";
    return out;
}

}  // namespace flowex::common
