#pragma once
/// Routes (method, path pattern) to handlers.
///
/// Patterns are absolute paths whose segments are literals, `{name}` (one non-empty
/// segment) or, as the last segment only, `{name...}` (the rest of the path, possibly
/// empty). A literal segment beats a parameter at the same position, a parameter beats a
/// tail. Example: `/v1/orders/{order_id}`, `/assets/{file...}`.
#include <string>
#include <string_view>
#include <vector>

#include "flowex/common/result.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/message.hpp"

namespace flowex::http {

class Router {
public:
    /// Registers a handler. Errors (kValidation): malformed pattern, or the same method and
    /// pattern registered twice. Not thread-safe: register before the server starts.
    common::Status Add(Method method, std::string_view pattern, Handler handler);
    /// Add() that aborts with a message on a bad pattern (routes are fixed at start-up).
    Router& Get(std::string_view pattern, Handler handler);
    Router& Post(std::string_view pattern, Handler handler);
    Router& Put(std::string_view pattern, Handler handler);
    Router& Delete(std::string_view pattern, Handler handler);
    Router& Patch(std::string_view pattern, Handler handler);
    Router& Route(Method method, std::string_view pattern, Handler handler);

    enum class MatchKind { kFound, kNotFound, kMethodNotAllowed };
    struct Match {
        MatchKind kind = MatchKind::kNotFound;
        const Handler* handler = nullptr;   ///< set when kFound
        std::string_view pattern;           ///< the matched pattern (kFound, kMethodNotAllowed)
        std::string allow;                  ///< "GET, POST" for kMethodNotAllowed
    };
    /// Matches `path` (percent-encoded, without query) and fills ctx.route and
    /// ctx.path_params on kFound. A HEAD request falls back to a GET route. Thread-safe
    /// once registration is over.
    Match Find(Method method, std::string_view path, RequestContext& ctx) const;

private:
    struct Segment {
        enum class Kind { kLiteral, kParam, kTail } kind = Kind::kLiteral;
        std::string text;  // literal text or parameter name
    };
    struct Entry {
        std::string pattern;
        std::vector<Segment> segments;
        std::vector<std::pair<Method, Handler>> handlers;
    };
    std::vector<Entry> entries_;
};

}  // namespace flowex::http
