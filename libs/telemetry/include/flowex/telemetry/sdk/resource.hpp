#pragma once
/// Resource detection: service.name, service.version, service.instance.id, host.name,
/// process.pid, telemetry.sdk.{name,language,version}, OTEL_RESOURCE_ATTRIBUTES (percent-
/// decoded) and OTEL_SERVICE_NAME (which wins over service.name in the attribute list).
#include <memory>
#include <string_view>

#include "flowex/telemetry/env.hpp"
#include "flowex/telemetry/sdk/span_data.hpp"

namespace flowex::telemetry::sdk {

inline constexpr std::string_view kSdkName = "flowex";
inline constexpr std::string_view kSdkVersion = "0.1.0";

struct ResourceOptions {
    std::string_view service_name;     // the service's own default name
    std::string_view service_version;  // e.g. the build version
};

std::shared_ptr<const Resource> ResourceFromEnv(const EnvLookup& env, ResourceOptions options);

}  // namespace flowex::telemetry::sdk
