#pragma once
/// The access-log middleware: one line per request through spdlog, DESIGN §7's format
/// (the level prefix comes from the logger's pattern):
///     127.0.0.1:54321 - "POST /v1/order HTTP/1.1" 201 Created
#include <memory>
#include <string>

#include "flowex/http/context.hpp"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace flowex::http {

struct AccessLogOptions {
    /// The spdlog logger to write to. Looked up (spdlog::get) on each request until it is
    /// registered, then kept; spdlog's default logger meanwhile. So a service may create
    /// the middleware before configuring logging.
    std::string logger_name = "access";
};

/// Logs at info level after the rest of the chain answered. Put it first (outermost) so
/// it sees the final status. Thread-safe (spdlog loggers are).
Middleware AccessLog(AccessLogOptions options = {});
/// Same, with a fixed logger (e.g. an async file logger for benchmarks).
Middleware AccessLog(std::shared_ptr<spdlog::logger> logger);

/// The line itself (without level), for tests and custom sinks.
std::string FormatAccessLine(const RequestContext& ctx, int status);

}  // namespace flowex::http
