#include "flowex/telemetry/env.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace flowex::telemetry {
namespace {

std::string Trim(std::string s) {
    const auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

}  // namespace

EnvLookup ProcessEnv() {
    return [](std::string_view name) -> std::optional<std::string> {
        const std::string key(name);
        const char* v = std::getenv(key.c_str());  // NOLINT(concurrency-mt-unsafe)
        if (v == nullptr) {
            return std::nullopt;
        }
        return std::string(v);
    };
}

EnvLookup MapEnv(std::map<std::string, std::string, std::less<>> values) {
    return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
        const auto it = values.find(name);
        if (it == values.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

std::optional<std::string> EnvString(const EnvLookup& env, std::string_view name) {
    if (!env) {
        return std::nullopt;
    }
    auto v = env(name);
    if (!v) {
        return std::nullopt;
    }
    std::string t = Trim(std::move(*v));
    if (t.empty()) {
        return std::nullopt;
    }
    return t;
}

bool EnvBool(const EnvLookup& env, std::string_view name, bool fallback) {
    auto v = EnvString(env, name);
    if (!v) {
        return fallback;
    }
    std::string lower = *v;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "true") {
        return true;
    }
    if (lower == "false") {
        return false;
    }
    return fallback;
}

std::int64_t EnvInt(const EnvLookup& env, std::string_view name, std::int64_t fallback) {
    return EnvInt(env, name, fallback, std::numeric_limits<std::int64_t>::max());
}

std::int64_t EnvInt(const EnvLookup& env, std::string_view name, std::int64_t fallback,
                    std::int64_t max) {
    auto v = EnvString(env, name);
    if (!v) {
        return fallback;
    }
    std::int64_t out = 0;
    const auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ptr != v->data() + v->size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        return fallback;
    }
    if (ec == std::errc::result_out_of_range) {
        if (v->front() == '-') { return fallback; }
        out = std::numeric_limits<std::int64_t>::max();
    }
    if (out < 0) { return fallback; }
    if (out > max) {
        spdlog::warn("telemetry: {}={} is over its limit; using {}", name, *v, max);
        return max;
    }
    return out;
}

std::chrono::milliseconds EnvMillis(const EnvLookup& env, std::string_view name,
                                    std::chrono::milliseconds fallback) {
    return std::chrono::milliseconds(EnvInt(env, name, fallback.count(), kMaxEnvMillis.count()));
}

}  // namespace flowex::telemetry
