// `flowex traces` (search) and `flowex trace <id>` (waterfall) against any Jaeger-compatible
// query API (flowex-collector, Jaeger all-in-one).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "command.hpp"
#include "flowex/common/config.hpp"
#include "flowex/common/json.hpp"
#include "query_client.hpp"
#include "traces_view.hpp"

namespace flowex::cli {

using common::JsonValue;

std::int64_t CliTrace::Start() const {
    std::int64_t s = INT64_MAX;
    for (const auto& sp : spans) {
        s = std::min(s, sp.start_us);
    }
    return spans.empty() ? 0 : s;
}
std::int64_t CliTrace::End() const {
    std::int64_t e = 0;
    for (const auto& sp : spans) {
        e = std::max(e, sp.start_us + sp.duration_us);
    }
    return e;
}
int CliTrace::Errors() const {
    int n = 0;
    for (const auto& sp : spans) {
        n += sp.error ? 1 : 0;
    }
    return n;
}
const CliSpan* CliTrace::Root() const {
    const CliSpan* best = nullptr;
    std::unordered_set<std::string_view> ids;
    for (const auto& sp : spans) { ids.insert(sp.span_id); }
    for (const auto& sp : spans) {
        bool parent_here = !sp.parent_id.empty() && ids.contains(sp.parent_id);
        if (!parent_here && (best == nullptr || sp.start_us < best->start_us)) {
            best = &sp;
        }
    }
    return best;
}

namespace {

// The query API's answers: up to the client's 256 MB response limit (a trace of 50,000 spans
// is some 30 MB and 2.5 M JSON values), not the 1 M values allowed of a request body.
const common::JsonLimits kAnswerLimits{64, 256 << 20, 1 << 26};

std::string Str(const JsonValue* v) { return v != nullptr && v->is_string() ? v->as_string() : std::string(); }
std::int64_t Int(const JsonValue* v) { return v != nullptr && v->is_number() ? v->ToInt64().value_or(0) : 0; }

}  // namespace

common::Result<std::vector<CliTrace>> ParseJaegerTraces(std::string_view body) {
    auto j = common::ParseJson(body, kAnswerLimits);
    if (!j || !j->is_object()) {
        return common::Error{common::ErrorCode::kInvalidJson, "the query API answered something that is not JSON"};
    }
    std::vector<CliTrace> out;
    const JsonValue* data = j->Find("data");
    if (data == nullptr || !data->is_array()) {
        return out;
    }
    for (const JsonValue& t : data->as_array()) {
        if (!t.is_object()) {
            continue;
        }
        CliTrace ct;
        ct.trace_id = Str(t.Find("traceID"));
        std::map<std::string, std::string> services;
        if (const JsonValue* procs = t.Find("processes"); procs != nullptr && procs->is_object()) {
            for (const auto& [pid, p] : procs->as_object()) {
                services[pid] = Str(p.Find("serviceName"));
            }
        }
        if (const JsonValue* warnings = t.Find("warnings");
            warnings != nullptr && warnings->is_array()) {
            for (const JsonValue& w : warnings->as_array()) {
                if (w.is_string()) { ct.warnings.push_back(w.as_string()); }
            }
        }
        const JsonValue* spans = t.Find("spans");
        if (spans == nullptr || !spans->is_array()) {
            continue;
        }
        for (const JsonValue& s : spans->as_array()) {
            CliSpan cs;
            cs.span_id = Str(s.Find("spanID"));
            cs.operation = Str(s.Find("operationName"));
            cs.start_us = Int(s.Find("startTime"));
            cs.duration_us = Int(s.Find("duration"));
            cs.service = services[Str(s.Find("processID"))];
            if (const JsonValue* refs = s.Find("references"); refs != nullptr && refs->is_array()) {
                for (const JsonValue& r : refs->as_array()) {
                    if (Str(r.Find("refType")) == "CHILD_OF") {
                        cs.parent_id = Str(r.Find("spanID"));
                        break;
                    }
                }
            }
            std::string peer;
            std::string kind;
            if (const JsonValue* tags = s.Find("tags"); tags != nullptr && tags->is_array()) {
                for (const JsonValue& tag : tags->as_array()) {
                    std::string key = Str(tag.Find("key"));
                    const JsonValue* v = tag.Find("value");
                    if (key == "error" && v != nullptr &&
                        ((v->is_bool() && v->as_bool()) || (v->is_string() && v->as_string() == "true"))) {
                        cs.error = true;
                    } else if ((key == "service.peer.name" || key == "peer.service") && peer.empty()) {
                        peer = Str(v);
                    } else if (key == "span.kind") {
                        kind = Str(v);
                    }
                }
            }
            // The brief draws database and cache calls as their own node ("postgresql: UPDATE").
            if (!peer.empty() && (kind == "client" || kind == "producer") &&
                (peer == "postgresql" || peer == "redis")) {
                cs.service = peer;
            }
            ct.spans.push_back(std::move(cs));
        }
        out.push_back(std::move(ct));
    }
    return out;
}

std::string FormatDuration(std::int64_t us) {
    char buf[32];
    if (us < 1000) {
        std::snprintf(buf, sizeof buf, "%lldµs", static_cast<long long>(us));
    } else if (us < 1'000'000) {
        std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(us) / 1000.0);
    } else {
        std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(us) / 1e6);
    }
    return buf;
}

namespace {

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kBold = "\x1b[1m";
const char* kPalette[] = {"\x1b[36m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[92m", "\x1b[93m"};

const char* ServiceColor(const std::string& s) { return kPalette[std::hash<std::string>()(s) % 8]; }

// Display width of UTF-8 text (code points; the glyphs used here are all single width).
std::size_t Width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) {
        n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

std::string Pad(std::string s, std::size_t width) {
    std::size_t w = Width(s);
    if (w < width) {
        s.append(width - w, ' ');
    }
    return s;
}

std::string Truncate(const std::string& s, std::size_t width) {
    if (Width(s) <= width) {
        return s;
    }
    std::string out;
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size() && n + 1 < width; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80) {
            ++n;
        }
        out.push_back(s[i]);
    }
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) {
        out.pop_back();
    }
    return out + "…";
}

// A log body on one line of the terminal: line breaks and tabs become spaces, other control
// characters (an escape sequence in a body, say) '?'.
std::string OneLine(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n' || c == '\r' || c == '\t') {
            c = ' ';
        } else if (u < 0x20 || u == 0x7f) {
            c = '?';
        }
    }
    return out;
}

}  // namespace

std::string RenderWaterfall(const CliTrace& trace, bool color, int bar_width) {
    std::int64_t t0 = trace.Start();
    std::int64_t total = std::max<std::int64_t>(1, trace.End() - t0);
    // Tree order: children sorted by start under their parent; orphans are roots.
    std::map<std::string, std::vector<const CliSpan*>> children;
    std::vector<const CliSpan*> roots;
    std::unordered_set<std::string_view> ids;
    for (const auto& s : trace.spans) { ids.insert(s.span_id); }
    for (const auto& s : trace.spans) {
        bool parent_here = !s.parent_id.empty() && ids.contains(s.parent_id);
        (parent_here ? children[s.parent_id] : roots).push_back(&s);
    }
    auto by_start = [](const CliSpan* a, const CliSpan* b) { return a->start_us < b->start_us; };
    std::sort(roots.begin(), roots.end(), by_start);
    for (auto& [k, v] : children) {
        std::sort(v.begin(), v.end(), by_start);
    }
    struct Line {
        std::string prefix;
        const CliSpan* span;
    };
    std::vector<Line> lines;
    std::function<void(const CliSpan*, const std::string&, const std::string&, int)> walk =
        [&](const CliSpan* s, const std::string& lead, const std::string& child_lead, int depth) {
            lines.push_back(Line{lead, s});
            if (depth > 64) {
                return;
            }
            auto it = children.find(s->span_id);
            if (it == children.end()) {
                return;
            }
            for (std::size_t i = 0; i < it->second.size(); ++i) {
                bool last = i + 1 == it->second.size();
                walk(it->second[i], child_lead + (last ? "└─ " : "├─ "), child_lead + (last ? "   " : "│  "), depth + 1);
            }
        };
    for (const CliSpan* r : roots) {
        walk(r, "", "", 0);
    }
    std::size_t label_w = 0;
    for (const auto& l : lines) {
        label_w = std::max(label_w, Width(l.prefix) + Width(l.span->service) + 2 + Width(l.span->operation));
    }
    label_w = std::min<std::size_t>(label_w, 70);

    std::ostringstream out;
    const CliSpan* root = trace.Root();
    out << (color ? kBold : "") << "Trace " << trace.trace_id << (color ? kReset : "") << "  "
        << (root != nullptr ? root->service + ": " + root->operation : std::string()) << "  · " << trace.spans.size()
        << " spans · " << FormatDuration(total) << " · " << trace.Errors() << (trace.Errors() == 1 ? " error" : " errors")
        << "\n";
    for (const auto& l : lines) {
        const CliSpan& s = *l.span;
        std::string label = Truncate(l.prefix + s.service + ": " + s.operation, label_w);
        // Re-colour the service part when the label was not cut inside it.
        std::string shown = Pad(label, label_w);
        if (color && label.size() >= l.prefix.size() + s.service.size() && label.compare(l.prefix.size(), s.service.size(), s.service) == 0) {
            shown = l.prefix + ServiceColor(s.service) + s.service + kReset + Pad(label.substr(l.prefix.size() + s.service.size()), label_w - Width(l.prefix) - Width(s.service));
        }
        auto offset = static_cast<int>((s.start_us - t0) * bar_width / total);
        auto len = static_cast<int>((s.duration_us * bar_width + total - 1) / total);
        offset = std::clamp(offset, 0, bar_width - 1);
        len = std::clamp(len, 1, bar_width - offset);
        std::string bar(static_cast<std::size_t>(offset), ' ');
        for (int i = 0; i < len; ++i) {
            bar += "█";
        }
        bar.append(static_cast<std::size_t>(bar_width - offset - len), ' ');
        out << shown << " [" << (color ? (s.error ? kRed : ServiceColor(s.service)) : "") << bar << (color ? kReset : "") << "] "
            << Pad(FormatDuration(s.duration_us), 9);
        if (s.error) {
            out << (color ? kRed : "") << " ✗ error" << (color ? kReset : "");
        }
        out << "\n";
    }
    for (const auto& w : trace.warnings) {
        out << (color ? kRed : "") << "warning: " << w << (color ? kReset : "") << "\n";
    }
    return out.str();
}

common::Result<CliTraceLogs> ParseTraceLogs(std::string_view body) {
    auto j = common::ParseJson(body, kAnswerLimits);
    if (!j || !j->is_object()) {
        return common::Error{common::ErrorCode::kInvalidJson,
                             "the query API answered something that is not JSON"};
    }
    CliTraceLogs out;
    if (const JsonValue* data = j->Find("data"); data != nullptr && data->is_array()) {
        for (const JsonValue& r : data->as_array()) {
            if (!r.is_object()) { continue; }
            out.records.push_back(CliLog{Int(r.Find("timestamp")), Str(r.Find("severity")),
                                         Str(r.Find("body")), Str(r.Find("spanID")),
                                         Str(r.Find("service"))});
        }
    }
    if (const JsonValue* warnings = j->Find("warnings");
        warnings != nullptr && warnings->is_array()) {
        for (const JsonValue& w : warnings->as_array()) {
            if (w.is_string()) { out.warnings.push_back(w.as_string()); }
        }
    }
    std::stable_sort(out.records.begin(), out.records.end(),
                     [](const CliLog& a, const CliLog& b) { return a.time_us < b.time_us; });
    return out;
}

std::string RenderTraceLogs(const CliTrace& trace, const CliTraceLogs& logs, bool color) {
    std::unordered_map<std::string_view, const CliSpan*> spans;
    for (const auto& s : trace.spans) { spans.emplace(s.span_id, &s); }
    std::size_t service_w = 0;
    std::size_t op_w = 0;
    for (const auto& r : logs.records) {
        service_w = std::max(service_w, Width(r.service));
        auto it = spans.find(r.span_id);
        if (it != spans.end()) { op_w = std::max(op_w, Width(it->second->operation)); }
    }
    service_w = std::min<std::size_t>(service_w, 24);
    op_w = std::min<std::size_t>(op_w, 32);
    const std::int64_t t0 = trace.Start();
    std::ostringstream out;
    out << (color ? kBold : "") << "Logs (" << logs.records.size() << ")" << (color ? kReset : "")
        << "\n";
    for (const auto& r : logs.records) {
        auto it = spans.find(r.span_id);
        const std::string op = it != spans.end() ? it->second->operation : std::string();
        const bool bad = r.severity == "ERROR" || r.severity == "FATAL" || r.severity == "WARN";
        out << Pad("+" + FormatDuration(std::max<std::int64_t>(0, r.time_us - t0)), 10) << " "
            << (color ? ServiceColor(r.service) : "")
            << Pad(Truncate(r.service, service_w), service_w) << (color ? kReset : "") << " "
            << (color && bad ? kRed : "") << Pad(r.severity, 5) << (color && bad ? kReset : "")
            << " " << Pad(Truncate(op, op_w), op_w) << "  " << OneLine(r.body) << "\n";
    }
    if (logs.records.empty()) { out << "(no log records)\n"; }
    for (const auto& w : logs.warnings) {
        out << (color ? kRed : "") << "warning: " << w << (color ? kReset : "") << "\n";
    }
    return out.str();
}

common::Result<std::vector<CliTraceSummary>> ParseTraceSummaries(std::string_view body) {
    auto j = common::ParseJson(body, kAnswerLimits);
    if (!j || !j->is_object()) {
        return common::Error{common::ErrorCode::kInvalidJson,
                             "the query API answered something that is not JSON"};
    }
    std::vector<CliTraceSummary> out;
    const JsonValue* data = j->Find("data");
    if (data == nullptr || !data->is_array()) { return out; }
    for (const JsonValue& t : data->as_array()) {
        if (!t.is_object()) { continue; }
        CliTraceSummary s;
        s.trace_id = Str(t.Find("traceID"));
        s.start_us = Int(t.Find("startTime"));
        s.duration_us = Int(t.Find("duration"));
        s.spans = Int(t.Find("spanCount"));
        s.errors = Int(t.Find("errorCount"));
        std::string service = Str(t.Find("rootService"));
        std::string operation = Str(t.Find("rootOperation"));
        if (!service.empty() || !operation.empty()) { s.root = service + ": " + operation; }
        out.push_back(std::move(s));
    }
    return out;
}

CliTraceSummary SummaryOf(const CliTrace& trace) {
    CliTraceSummary s;
    s.trace_id = trace.trace_id;
    s.start_us = trace.Start();
    s.duration_us = trace.End() - trace.Start();
    s.spans = static_cast<std::int64_t>(trace.spans.size());
    s.errors = trace.Errors();
    if (const CliSpan* root = trace.Root(); root != nullptr) {
        s.root = root->service + ": " + root->operation;
    }
    return s;
}

std::string RenderTraceTable(const std::vector<CliTraceSummary>& traces, bool color) {
    std::ostringstream out;
    out << (color ? kBold : "") << Pad("TRACE ID", 34) << Pad("START (UTC)", 21) << Pad("DURATION", 10) << Pad("SPANS", 7)
        << Pad("ERRORS", 8) << "ROOT" << (color ? kReset : "") << "\n";
    for (const auto& t : traces) {
        std::time_t secs = static_cast<std::time_t>(t.start_us / 1'000'000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char when[32];
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        out << Pad(t.trace_id, 34) << (color ? kDim : "") << Pad(when, 21) << (color ? kReset : "")
            << Pad(FormatDuration(t.duration_us), 10) << Pad(std::to_string(t.spans), 7)
            << (t.errors > 0 && color ? kRed : "") << Pad(std::to_string(t.errors), 8)
            << (t.errors > 0 && color ? kReset : "") << t.root << "\n";
    }
    return out.str();
}

namespace {

bool UseColor(bool no_color) {
    return !no_color && isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
}

std::string DefaultQueryUrl() {
    const char* env = std::getenv("FLOWEX_QUERY_URL");
    return env != nullptr && *env != '\0' ? env : "http://127.0.0.1:16686";
}

[[maybe_unused]] int RunTraces(int argc, char** argv) {
    std::string query_url = DefaultQueryUrl();
    std::string service;
    std::string operation;
    std::string tags;
    std::string lookback = "1h";
    std::string min_duration;
    std::string max_duration;
    std::int64_t limit = 20;
    bool json = false;
    bool no_color = false;
    std::vector<std::string> positional;
    common::Config cfg("flowex traces", "Search traces (newest first) in a Jaeger-compatible query API.");
    cfg.String("query-url", "FLOWEX_QUERY_URL", &query_url, "query API base URL");
    cfg.String("service", "", &service, "service name, e.g. client-gateway");
    cfg.String("operation", "", &operation, "operation (span name), e.g. 'POST /v1/order'");
    cfg.String("tags", "", &tags, "tags k=v (space or comma separated; more k=v may follow as arguments), e.g. error=true");
    cfg.String("lookback", "", &lookback, "how far back: 15m, 1h, 2d");
    cfg.String("min-duration", "", &min_duration, "e.g. 100ms");
    cfg.String("max-duration", "", &max_duration, "e.g. 1.2s");
    cfg.Int("limit", "", &limit, "at most this many traces", 1, 1500);
    cfg.Bool("json", "", &json, "print the API's JSON instead of a table");
    cfg.Bool("no-color", "", &no_color, "never colour the output");
    cfg.Positional("[k=v …]", &positional);
    cfg.ParseOrExit(argc, argv);

    common::JsonWriter tw;
    tw.BeginObject();
    std::vector<std::string> pairs = positional;
    std::string cur;
    for (char c : tags + " ") {
        if (c == ' ' || c == ',') {
            if (!cur.empty()) {
                pairs.push_back(cur);
            }
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    for (const auto& p : pairs) {
        auto eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::fprintf(stderr, "flowex traces: tag '%s' is not k=v\n", p.c_str());
            return 2;
        }
        tw.Key(p.substr(0, eq)).String(p.substr(eq + 1));
    }
    tw.EndObject();
    std::string target = "?limit=" + std::to_string(limit) + "&lookback=" + UrlEncode(lookback);
    auto lb = common::ParseDuration(lookback);
    if (!lb) {
        std::fprintf(stderr, "flowex traces: bad --lookback '%s'\n", lookback.c_str());
        return 2;
    }
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    target += "&end=" + std::to_string(now_us) + "&start=" + std::to_string(now_us - lb->count() / 1000);
    if (!service.empty()) {
        target += "&service=" + UrlEncode(service);
    }
    if (!operation.empty()) {
        target += "&operation=" + UrlEncode(operation);
    }
    if (!pairs.empty()) {
        target += "&tags=" + UrlEncode(tw.str());
    }
    if (!min_duration.empty()) {
        target += "&minDuration=" + UrlEncode(min_duration);
    }
    if (!max_duration.empty()) {
        target += "&maxDuration=" + UrlEncode(max_duration);
    }
    // The table needs one summary per trace: flowex's /api/trace-summaries, or (a plain Jaeger
    // answers 404) every span from /api/traces, summarised here. --json prints Jaeger's traces.
    bool summaries = !json;
    auto answer = HttpGet(query_url, (summaries ? "/api/trace-summaries" : "/api/traces") + target);
    if (answer && summaries && answer->status == 404) {
        summaries = false;
        answer = HttpGet(query_url, "/api/traces" + target);
    }
    if (!answer) {
        std::fprintf(stderr, "flowex traces: %s: %s\n", query_url.c_str(),
                     answer.error().message.c_str());
        return 1;
    }
    if (answer->status != 200) {
        std::fprintf(stderr, "flowex traces: HTTP %d: %s\n", answer->status, answer->body.c_str());
        return 1;
    }
    if (json) {
        std::fwrite(answer->body.data(), 1, answer->body.size(), stdout);
        std::fputc('\n', stdout);
        return 0;
    }
    std::vector<CliTraceSummary> rows;
    if (summaries) {
        auto parsed = ParseTraceSummaries(answer->body);
        if (!parsed) {
            std::fprintf(stderr, "flowex traces: %s\n", parsed.error().message.c_str());
            return 1;
        }
        rows = std::move(parsed).value();
    } else {
        auto traces = ParseJaegerTraces(answer->body);
        if (!traces) {
            std::fprintf(stderr, "flowex traces: %s\n", traces.error().message.c_str());
            return 1;
        }
        for (const CliTrace& t : *traces) { rows.push_back(SummaryOf(t)); }
    }
    std::sort(rows.begin(), rows.end(), [](const CliTraceSummary& a, const CliTraceSummary& b) {
        return a.start_us > b.start_us;
    });
    std::string table = RenderTraceTable(rows, UseColor(no_color));
    std::fwrite(table.data(), 1, table.size(), stdout);
    if (rows.empty()) {
        std::fprintf(stderr, "no traces matched (lookback %s)\n", lookback.c_str());
    }
    return 0;
}

[[maybe_unused]] int RunTrace(int argc, char** argv) {
    std::string query_url = DefaultQueryUrl();
    bool json = false;
    bool no_color = false;
    std::int64_t width = 40;
    std::int64_t max_spans = -1;
    bool logs = false;
    std::int64_t max_logs = -1;
    std::vector<std::string> ids;
    common::Config cfg("flowex trace", "Draw one trace as a waterfall (service: operation, bar, duration).");
    cfg.String("query-url", "FLOWEX_QUERY_URL", &query_url, "query API base URL");
    cfg.Bool("json", "", &json, "print the API's JSON instead");
    cfg.Bool("no-color", "", &no_color, "never colour the output");
    cfg.Int("width", "", &width, "bar width in columns", 10, 400);
    cfg.Int("max-spans", "", &max_spans,
            "spans to ask for (0: all; -1: the collector's limit, 50,000 by default)", -1,
            INT64_MAX);
    cfg.Bool("logs", "", &logs,
             "also print the trace's log records under the waterfall (flowex-collector)");
    cfg.Int("max-logs", "", &max_logs,
            "log records to ask for with --logs (0: all; -1: the collector's limit, 50,000 by "
            "default)",
            -1, INT64_MAX);
    cfg.Positional("<trace-id>", &ids);
    cfg.ParseOrExit(argc, argv);
    if (ids.size() != 1) {
        std::fprintf(stderr, "usage: flowex trace <trace-id> [--query-url URL] [--json]\n");
        return 2;
    }
    std::string target = "/api/traces/" + UrlEncode(ids[0]);
    if (max_spans >= 0) { target += "?maxSpans=" + std::to_string(max_spans); }
    auto r = HttpGet(query_url, target);
    if (!r) {
        std::fprintf(stderr, "flowex trace: %s: %s\n", query_url.c_str(), r.error().message.c_str());
        return 1;
    }
    if (r->status == 404) {
        std::fprintf(stderr, "flowex trace: trace %s not found\n", ids[0].c_str());
        return 1;
    }
    if (r->status != 200) {
        std::fprintf(stderr, "flowex trace: HTTP %d: %s\n", r->status, r->body.c_str());
        return 1;
    }
    // The trace's log records (flowex's /api/traces/{id}/logs; plain Jaeger has none).
    std::optional<HttpReply> log_answer;
    if (logs) {
        std::string log_target = "/api/traces/" + UrlEncode(ids[0]) + "/logs";
        if (max_logs >= 0) { log_target += "?maxLogs=" + std::to_string(max_logs); }
        auto l = HttpGet(query_url, log_target);
        if (!l) {
            std::fprintf(stderr, "flowex trace: %s: %s\n", query_url.c_str(),
                         l.error().message.c_str());
            return 1;
        }
        if (l->status == 404) {
            std::fprintf(stderr,
                         "flowex trace: %s serves no log records (not a flowex-collector?)\n",
                         query_url.c_str());
        } else if (l->status != 200) {
            std::fprintf(stderr, "flowex trace: logs: HTTP %d: %s\n", l->status, l->body.c_str());
            return 1;
        } else {
            log_answer = std::move(*l);
        }
    }
    if (json) {
        std::fwrite(r->body.data(), 1, r->body.size(), stdout);
        std::fputc('\n', stdout);
        if (log_answer) {  // a second JSON document, on its own line
            std::fwrite(log_answer->body.data(), 1, log_answer->body.size(), stdout);
            std::fputc('\n', stdout);
        }
        return 0;
    }
    auto traces = ParseJaegerTraces(r->body);
    if (!traces) {
        std::fprintf(stderr, "flowex trace: %s\n", traces.error().message.c_str());
        return 1;
    }
    if (traces->empty()) {
        std::fprintf(stderr, "flowex trace: trace %s not found\n", ids[0].c_str());
        return 1;
    }
    std::string w = RenderWaterfall(traces->front(), UseColor(no_color), static_cast<int>(width));
    std::fwrite(w.data(), 1, w.size(), stdout);
    if (log_answer) {
        auto parsed = ParseTraceLogs(log_answer->body);
        if (!parsed) {
            std::fprintf(stderr, "flowex trace: logs: %s\n", parsed.error().message.c_str());
            return 1;
        }
        std::string l = "\n" + RenderTraceLogs(traces->front(), *parsed, UseColor(no_color));
        std::fwrite(l.data(), 1, l.size(), stdout);
        if (!parsed->warnings.empty() && max_logs != 0) {
            std::fprintf(stderr, "flowex trace: --max-logs N prints more of them (0: all)\n");
        }
    }
    if (!traces->front().warnings.empty() && max_spans != 0) {
        std::fprintf(stderr,
                     "flowex trace: --max-spans N draws more of the trace (0: every span)\n");
    }
    return 0;
}

}  // namespace

#ifndef FLOWEX_CLI_NO_REGISTER
FLOWEX_COMMAND("traces", "search traces: --service --operation --tags k=v … --lookback --limit --min-duration --max-duration [--json]", RunTraces);
FLOWEX_COMMAND("trace", "draw one trace as a waterfall: flowex trace <trace-id>", RunTrace);
#endif

}  // namespace flowex::cli
