#include "flowex/telemetry/sdk/resource.hpp"

#include <unistd.h>

#include <cctype>
#include <random>
#include <string>

#include "../text.hpp"

namespace flowex::telemetry::sdk {
namespace {

using detail::PercentDecode;
using detail::Trim;

std::string RandomUuid() {
    std::random_device rd;
    std::uint8_t b[16];
    for (auto& x : b) {
        x = static_cast<std::uint8_t>(rd());
    }
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
        }
        out.push_back(kHex[b[i] >> 4]);
        out.push_back(kHex[b[i] & 0x0f]);
    }
    return out;
}

}  // namespace

std::shared_ptr<const Resource> ResourceFromEnv(const EnvLookup& env, ResourceOptions options) {
    constexpr std::size_t kNoLimit = 1024;
    auto resource = std::make_shared<Resource>();
    AttributeList& attrs = resource->attributes;
    attrs.Set("service.name",
              options.service_name.empty() ? std::string_view("unknown_service")
                                           : options.service_name,
              kNoLimit, 0);
    if (!options.service_version.empty()) {
        attrs.Set("service.version", options.service_version, kNoLimit, 0);
    }
    attrs.Set("service.instance.id", RandomUuid(), kNoLimit, 0);
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) {
        attrs.Set("host.name", std::string_view(host), kNoLimit, 0);
    }
    attrs.Set("process.pid", static_cast<std::int64_t>(getpid()), kNoLimit, 0);
    attrs.Set("telemetry.sdk.name", kSdkName, kNoLimit, 0);
    attrs.Set("telemetry.sdk.language", "cpp", kNoLimit, 0);
    attrs.Set("telemetry.sdk.version", kSdkVersion, kNoLimit, 0);
    if (auto list = EnvString(env, "OTEL_RESOURCE_ATTRIBUTES")) {
        std::string_view rest = *list;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string_view member = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            const auto eq = member.find('=');
            if (eq == std::string_view::npos) {
                continue;
            }
            const std::string key = PercentDecode(Trim(member.substr(0, eq)));
            const std::string value = PercentDecode(Trim(member.substr(eq + 1)));
            if (!key.empty()) {
                attrs.Set(key, std::string_view(value), kNoLimit, 0);
            }
        }
    }
    if (auto name = EnvString(env, "OTEL_SERVICE_NAME")) {
        attrs.Set("service.name", std::string_view(*name), kNoLimit, 0);
    }
    return resource;
}

}  // namespace flowex::telemetry::sdk
