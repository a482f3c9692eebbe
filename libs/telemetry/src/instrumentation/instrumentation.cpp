#include "flowex/telemetry/instrumentation/instrumentation.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace flowex::telemetry::instrumentation {
namespace {

std::string StatusText(int status) { return std::to_string(status); }

// ASCII only, as SQL keywords and Redis commands are: no locale lookup per character.
char AsciiUpper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string Upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), AsciiUpper);
    return out;
}

// A span name "{OPERATION} {target}" (just the operation without a target), the operation
// upper-cased, built on the stack so that a database or SERVER span costs no allocation for its
// name and db.operation.name (every statement and route the services have fits); a longer one
// is built in a string. The operation is the name's first op_size_ bytes either way.
class SpanName {
public:
    static constexpr std::size_t kCapacity = 96;

    SpanName(std::string_view operation, std::string_view target) {
        const std::size_t size = operation.size() + (target.empty() ? 0 : 1 + target.size());
        char* out = buf_;
        if (size > kCapacity) {
            heap_.resize(size);
            out = heap_.data();
        }
        for (char c : operation) { out[size_++] = AsciiUpper(c); }
        op_size_ = size_;
        if (!target.empty()) {
            out[size_++] = ' ';
            for (char c : target) { out[size_++] = c; }
        }
    }
    SpanName(const SpanName&) = delete;
    SpanName& operator=(const SpanName&) = delete;

    std::string_view name() const noexcept {
        return heap_.empty() ? std::string_view(buf_, size_) : std::string_view(heap_);
    }
    std::string_view operation() const noexcept { return name().substr(0, op_size_); }

private:
    char buf_[kCapacity];
    std::string heap_;  // only for a name longer than kCapacity
    std::size_t size_ = 0;
    std::size_t op_size_ = 0;
};

// HTTP methods outside the known set are reported as "_OTHER" (semantic conventions).
std::string_view KnownMethod(std::string_view m) {
    static constexpr std::string_view kKnown[] = {"GET",     "POST",    "PUT",   "DELETE", "PATCH",
                                                  "HEAD",    "OPTIONS", "TRACE", "CONNECT"};
    for (auto k : kKnown) {
        if (k == m) {
            return k;
        }
    }
    return "_OTHER";
}

}  // namespace

ServerSpan StartServerSpan(const Tracer& tracer, const HttpServerRequest& r,
                           const TextMapPropagator& propagator) noexcept {
    ServerSpan out;
    // One clock read for the span's start and the duration metric (reading the clock costs
    // ~30 ns on a VM with kvm-clock).
    out.start_time = std::chrono::system_clock::now();
    try {
        out.method = std::string(KnownMethod(r.method));
        out.route = std::string(r.route);
        Context parent;
        if (r.headers != nullptr) {
            parent = propagator.Extract(*r.headers, Context());
        }
        const SpanName name(
            out.method == "_OTHER" ? std::string_view("HTTP") : std::string_view(out.method),
            r.route);
        out.span = tracer.StartSpan(
            name.name(),
            {.kind = SpanKind::kServer, .parent = &parent, .start_time = out.start_time});
        Span& s = out.span;
        if (s.IsRecording()) {
            s.SetAttribute("http.request.method", out.method);
            if (out.method == "_OTHER") {
                s.SetAttribute("http.request.method_original", r.method);
            }
            if (!r.route.empty()) {
                s.SetAttribute("http.route", r.route);
            }
            s.SetAttribute("url.path", r.path);
            s.SetAttribute("url.scheme", r.scheme);
            if (!r.server_address.empty()) {
                s.SetAttribute("server.address", r.server_address);
            }
            if (r.server_port > 0) {
                s.SetAttribute("server.port", r.server_port);
            }
            if (!r.client_address.empty()) {
                s.SetAttribute("client.address", r.client_address);
            }
            s.SetAttribute("network.protocol.version", r.protocol_version);
            if (!r.user_agent.empty()) {
                s.SetAttribute("user_agent.original", r.user_agent);
            }
        }
        out.context = s.MakeContext(parent);
    } catch (...) {
    }
    return out;
}

void EndServerSpan(ServerSpan& server, int status_code,
                   metrics::Family<metrics::Histogram>* duration) noexcept {
    try {
        server.span.SetAttribute("http.response.status_code", status_code);
        if (status_code >= 500) {
            // Servers: 5xx is an error, 4xx is the client's problem (status left unset).
            server.span.SetAttribute("error.type", StatusText(status_code));
            server.span.SetStatus(StatusCode::kError);
        }
        const Timestamp end_time = std::chrono::system_clock::now();
        server.span.End(end_time);
        if (duration != nullptr) {
            // The wall clock may step backwards (NTP): never a negative duration.
            const double seconds = std::max(
                0.0, std::chrono::duration<double>(end_time - server.start_time).count());
            duration
                ->WithLabels({server.method, server.route.empty() ? "unmatched" : server.route,
                              StatusText(status_code)})
                .Observe(seconds);
        }
    } catch (...) {
    }
}

Span StartClientSpan(const Tracer& tracer, const Context& parent, const HttpClientRequest& r,
                     TextMapCarrier& outgoing, const TextMapPropagator& propagator) noexcept {
    const std::string_view method = KnownMethod(r.method);
    Span s = tracer.StartSpan(method == "_OTHER" ? std::string_view("HTTP") : method,
                              {.kind = SpanKind::kClient, .parent = &parent});
    if (s.IsRecording()) {
        s.SetAttribute("http.request.method", method);
        if (!r.url.empty()) {
            s.SetAttribute("url.full", r.url);
        }
        if (!r.server_address.empty()) {
            s.SetAttribute("server.address", r.server_address);
        }
        if (r.server_port > 0) {
            s.SetAttribute("server.port", r.server_port);
        }
        if (!r.peer_service.empty()) {
            s.SetAttribute("service.peer.name", r.peer_service);
            s.SetAttribute("peer.service", r.peer_service);
        }
    }
    // Inject even when not recording: the downstream service continues the trace either way.
    try {
        propagator.Inject(s.MakeContext(parent), outgoing);
    } catch (...) {
    }
    return s;
}

void EndClientSpan(Span& span, int status_code) noexcept {
    span.SetAttribute("http.response.status_code", status_code);
    if (status_code >= 400) {
        try {
            span.SetAttribute("error.type", StatusText(status_code));
        } catch (...) {
        }
        span.SetStatus(StatusCode::kError);
    }
    span.End();
}

void FailClientSpan(Span& span, std::string_view error_type, std::string_view message) noexcept {
    span.MarkError(error_type, message);
    span.End();
}

Span StartPostgresSpan(const Tracer& tracer, const Context& parent, const DbCall& call) noexcept {
    try {
        const SpanName name(call.operation, call.table);
        Span s = tracer.StartSpan(name.name(), {.kind = SpanKind::kClient, .parent = &parent});
        if (s.IsRecording()) {
            s.SetAttribute("db.system.name", "postgresql");
            s.SetAttribute("db.operation.name", name.operation());
            if (!call.table.empty()) {
                s.SetAttribute("db.collection.name", call.table);
            }
            if (!call.query_text.empty()) {
                s.SetAttribute("db.query.text", call.query_text);
            }
            if (!call.db_namespace.empty()) {
                s.SetAttribute("db.namespace", call.db_namespace);
            }
            if (!call.server_address.empty()) {
                s.SetAttribute("server.address", call.server_address);
            }
            if (call.server_port > 0) {
                s.SetAttribute("server.port", call.server_port);
            }
            s.SetAttribute("service.peer.name", "postgresql");
            s.SetAttribute("peer.service", "postgresql");
        }
        return s;
    } catch (...) {
        return Span();
    }
}

SqlSummary SummarizeSql(std::string_view sql) {
    std::vector<std::string> words;
    std::string cur;
    for (char c : sql) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '"') {
            if (c != '"') {
                cur.push_back(c);
            }
        } else if (!cur.empty()) {
            words.push_back(cur);
            cur.clear();
        }
        if (words.size() > 64) {
            break;
        }
    }
    if (!cur.empty()) {
        words.push_back(cur);
    }
    SqlSummary out;
    if (words.empty()) {
        return out;
    }
    std::size_t start = 0;
    if (Upper(words[0]) == "WITH") {  // a CTE: the statement's verb comes later
        for (std::size_t i = 1; i < words.size(); ++i) {
            const std::string u = Upper(words[i]);
            if (u == "SELECT" || u == "INSERT" || u == "UPDATE" || u == "DELETE") {
                start = i;
            }
        }
    }
    out.operation = Upper(words[start]);
    std::string_view after;
    if (out.operation == "SELECT" || out.operation == "DELETE") {
        after = "FROM";
    } else if (out.operation == "INSERT") {
        after = "INTO";
    } else if (out.operation == "UPDATE") {
        after = "UPDATE";
    }
    for (std::size_t i = start; i + 1 < words.size() && !after.empty(); ++i) {
        if (Upper(words[i]) == after) {
            out.table = words[i + 1];
            break;
        }
    }
    return out;
}

Span StartRedisSpan(const Tracer& tracer, const Context& parent, const RedisCall& call) noexcept {
    try {
        const SpanName upper(call.operation, {});
        const std::string_view op = upper.operation();
        Span s = tracer.StartSpan(call.span_name.empty() ? op : call.span_name,
                                  {.kind = call.kind, .parent = &parent});
        if (s.IsRecording()) {
            s.SetAttribute("db.system.name", "redis");
            s.SetAttribute("db.operation.name", op);
            if (!call.channel.empty()) {
                s.SetAttribute("channel", call.channel);
            }
            if (!call.server_address.empty()) {
                s.SetAttribute("server.address", call.server_address);
            }
            if (call.server_port > 0) {
                s.SetAttribute("server.port", call.server_port);
            }
            s.SetAttribute("service.peer.name", "redis");
            s.SetAttribute("peer.service", "redis");
        }
        return s;
    } catch (...) {
        return Span();
    }
}

}  // namespace flowex::telemetry::instrumentation
