#pragma once
/// A blocking GET against a Jaeger-compatible query API, for command-line tools (libs/http's
/// client on a private io_context). Not for servers.
#include <chrono>
#include <string>

#include "flowex/common/result.hpp"

namespace flowex::cli {

struct HttpReply {
    int status = 0;
    std::string body;
};

/// GET base_url + target (e.g. "http://127.0.0.1:16686" + "/api/traces?service=x").
/// Errors: kUpstreamUnavailable / kUpstreamTimeout / kValidation (bad URL).
common::Result<HttpReply> HttpGet(const std::string& base_url, const std::string& target,
                                  std::chrono::seconds timeout = std::chrono::seconds(15));

/// Percent-encodes a query component.
std::string UrlEncode(std::string_view s);

}  // namespace flowex::cli
