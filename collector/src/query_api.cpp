#include "flowex/collector/query_api.hpp"

#include <algorithm>
#include <charconv>

#include "flowex/collector/render.hpp"
#include "flowex/common/config.hpp"
#include "flowex/common/json.hpp"

namespace flowex::collector {

using common::Error;
using common::ErrorCode;
using common::JsonWriter;
using common::Result;
using common::Status;

namespace {

std::vector<std::string> All(const QueryParams& p, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [k, v] : p) {
        if (k == name) {
            out.push_back(v);
        }
    }
    return out;
}
const std::string* First(const QueryParams& p, std::string_view name) {
    for (const auto& [k, v] : p) {
        if (k == name && !v.empty()) {
            return &v;
        }
    }
    return nullptr;
}

// Traces a search returns: Jaeger's default, and the most one search may ask for (Jaeger UI's
// own maximum). Asking for more is refused rather than silently cut to this many.
constexpr std::int64_t kDefaultSearchLimit = 20;
constexpr std::int64_t kMaxSearchLimit = 1500;

Error TooManyTraces(std::string_view parameter, std::int64_t asked) {
    return Error{ErrorCode::kBadRequest,
                 "'" + std::string(parameter) + "' is at most " + std::to_string(kMaxSearchLimit) +
                     " traces a search (asked for " + std::to_string(asked) +
                     "); narrow the search by time, service or duration instead"};
}

bool ParseInt(std::string_view s, std::int64_t* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// Times in a query (Unix nanoseconds) and spans of time are at most 4e18 ns (the year 2096;
// 126 years), so that a time plus or minus a span never overflows; beyond is a 400.
constexpr std::int64_t kMaxQueryNs = 4'000'000'000'000'000'000;

// `text` as a whole number of `unit_ns` nanoseconds (1,000: microseconds; 1,000,000:
// milliseconds), from 0 to kMaxQueryNs; false when it is not one.
bool ParseTimeNs(std::string_view text, std::int64_t unit_ns, std::int64_t* ns) {
    std::int64_t v = 0;
    if (!ParseInt(text, &v) || v < 0 || v > kMaxQueryNs / unit_ns) { return false; }
    *ns = v * unit_ns;
    return true;
}

// The span limit of a trace response: the collector's, or the request's `maxSpans` (0: all).
Result<std::int64_t> SpanLimit(const QueryParams& p, std::int64_t configured) {
    const std::string* s = First(p, "maxSpans");
    if (s == nullptr) { return configured; }
    std::int64_t v = 0;
    if (!ParseInt(*s, &v) || v < 0) {
        return Error{ErrorCode::kBadRequest, "cannot parse 'maxSpans' (a number of spans; 0: all)"};
    }
    return v;
}

// The Jaeger trace's warning when spans were left out.
std::vector<std::string> OmittedWarnings(std::int64_t omitted, std::int64_t limit) {
    if (omitted == 0) { return {}; }
    return {std::to_string(omitted) + " spans of this trace are left out: a response carries " +
            std::to_string(limit) +
            " spans (the first to arrive, shared by the traces it lists) and every root span. "
            "Ask for more with ?maxSpans=N, or ?maxSpans=0 for all"};
}

// The span limit of one response listing several traces: each trace gets what the traces
// before it left (at least one span, and its roots), so that a search listing runaway traces
// stays as bounded as the read of one. A limit of 0 is none.
class SpanBudget {
public:
    explicit SpanBudget(std::int64_t total) : left_(total), unlimited_(total == 0) {}
    std::int64_t Next() const { return unlimited_ ? 0 : std::max<std::int64_t>(left_, 1); }
    void Spend(const otlp_trace::TracesData& trace) {
        if (unlimited_) { return; }
        for (const auto& rs : trace.resource_spans()) {
            for (const auto& ss : rs.scope_spans()) { left_ -= ss.spans_size(); }
        }
    }

private:
    std::int64_t left_;
    bool unlimited_;
};

ApiResponse V1Error(int status, std::string_view msg) {
    JsonWriter w;
    w.BeginObject().Key("data").Null().Key("total").Int(0).Key("limit").Int(0).Key("offset").Int(0);
    w.Key("errors").BeginArray().BeginObject().Key("code").Int(status).Key("msg").String(msg).EndObject().EndArray();
    w.EndObject();
    return ApiResponse{status, "application/json", w.Take()};
}

ApiResponse V3Error(int status, std::string_view msg) {
    JsonWriter w;
    w.BeginObject().Key("error").BeginObject().Key("httpCode").Int(status).Key("message").String(msg);
    w.EndObject().EndObject();
    return ApiResponse{status, "application/json", w.Take()};
}

// {"data": <raw>, "total": n, "limit": 0, "offset": 0, "errors": null}
ApiResponse V1Data(JsonWriter& w, std::int64_t total) {
    w.Key("total").Int(total).Key("limit").Int(0).Key("offset").Int(0).Key("errors").Null();
    w.EndObject();
    return ApiResponse{200, "application/json", w.Take()};
}

Result<std::int64_t> DurationNs(std::string_view text, std::string_view what) {
    auto d = common::ParseDuration(text);
    if (!d) {
        return Error{ErrorCode::kBadRequest, std::string("cannot parse ") + std::string(what) + ": " + std::string(text)};
    }
    return static_cast<std::int64_t>(d->count());
}

Status AddTagsJson(const std::string& text, SearchQuery* q) {
    auto j = common::ParseJson(text);
    if (!j || !j->is_object()) {
        return Error{ErrorCode::kBadRequest, "malformed 'tags' parameter: expecting a JSON map"};
    }
    for (const auto& [k, v] : j->as_object()) {
        if (v.is_string()) {
            q->tags.emplace_back(k, v.as_string());
        } else if (v.is_bool()) {
            q->tags.emplace_back(k, v.as_bool() ? "true" : "false");
        } else if (v.is_number()) {
            q->tags.emplace_back(k, std::string(v.number_text()));
        } else {
            return Error{ErrorCode::kBadRequest, "malformed 'tags' parameter: values must be strings"};
        }
    }
    return {};
}

}  // namespace

bool ParseTraceId(std::string_view hex, std::string* out) {
    if (hex.empty() || hex.size() > 32) {
        return false;
    }
    std::string padded(32 - hex.size(), '0');
    padded += hex;
    if (!FromHex(padded, out)) {
        return false;
    }
    return std::any_of(out->begin(), out->end(), [](char c) { return c != 0; });
}

bool ParseRfc3339(std::string_view s, std::int64_t* unix_ns) {
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
    auto num = [&](std::size_t pos, std::size_t len, int* out) {
        if (pos + len > s.size()) {
            return false;
        }
        auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, *out);
        return ec == std::errc() && p == s.data() + pos + len;
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (s.size() < 20 || !num(0, 4, &y) || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' || !num(8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, &h) || s[13] != ':' || !num(14, 2, &mi) ||
        s[16] != ':' || !num(17, 2, &se)) {
        return false;
    }
    std::size_t pos = 19;
    std::int64_t frac_ns = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 9) {
                frac_ns = frac_ns * 10 + (s[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        while (digits++ < 9) {
            frac_ns *= 10;
        }
    }
    std::int64_t offset_s = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh = 0, om = 0;
        if (!num(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !num(pos + 4, 2, &om)) {
            return false;
        }
        offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return false;
    }
    if (pos != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    // Days from civil (Howard Hinnant's algorithm).
    int yy = y - (mo <= 2 ? 1 : 0);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = static_cast<unsigned>(yy - era * 400);
    unsigned doy = (153 * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
    std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
    if (secs < 0 || secs > kMaxQueryNs / 1'000'000'000) {  // 1970 to 2096
        return false;
    }
    *unix_ns = secs * 1'000'000'000 + frac_ns;
    return true;
}

Result<SearchQuery> QueryApi::ParseV1Search(const QueryParams& p) const {
    SearchQuery q;
    if (const auto* s = First(p, "service")) {
        q.service = *s;
    }
    if (const auto* s = First(p, "operation")) {
        q.operation = *s;
    }
    for (const auto& t : All(p, "tags")) {
        if (t.empty()) {
            continue;
        }
        if (Status st = AddTagsJson(t, &q); !st) {
            return st.error();
        }
    }
    for (const auto& t : All(p, "tag")) {
        auto colon = t.find(':');
        if (colon == std::string::npos) {
            return Error{ErrorCode::kBadRequest, "malformed 'tag' parameter, expecting key:value"};
        }
        q.tags.emplace_back(t.substr(0, colon), t.substr(colon + 1));
    }
    std::int64_t now = clock_.UnixNanos();
    std::int64_t end = now;
    if (const auto* s = First(p, "end")) {
        if (!ParseTimeNs(*s, 1000, &end)) {
            return Error{ErrorCode::kBadRequest,
                         "cannot parse 'end': expecting Unix microseconds, 0 to 4e15"};
        }
        q.start_max_ns = end;
    }
    if (const auto* s = First(p, "start")) {
        if (!ParseTimeNs(*s, 1000, &q.start_min_ns)) {
            return Error{ErrorCode::kBadRequest,
                         "cannot parse 'start': expecting Unix microseconds, 0 to 4e15"};
        }
    } else if (const auto* lb = First(p, "lookback"); lb != nullptr && *lb != "custom") {
        auto d = DurationNs(*lb, "lookback");
        if (!d) {
            return std::move(d).error();
        }
        q.start_min_ns = end - *d;
    }
    if (const auto* s = First(p, "minDuration")) {
        auto d = DurationNs(*s, "minDuration");
        if (!d) {
            return std::move(d).error();
        }
        q.min_duration_ns = *d;
    }
    if (const auto* s = First(p, "maxDuration")) {
        auto d = DurationNs(*s, "maxDuration");
        if (!d) {
            return std::move(d).error();
        }
        q.max_duration_ns = *d;
    }
    if (q.max_duration_ns > 0 && q.min_duration_ns > q.max_duration_ns) {
        return Error{ErrorCode::kBadRequest, "'maxDuration' must be greater than 'minDuration'"};
    }
    if (const auto* s = First(p, "limit")) {
        std::int64_t n = 0;
        if (!ParseInt(*s, &n) || n < 0) {
            return Error{ErrorCode::kBadRequest, "cannot parse 'limit'"};
        }
        if (n > kMaxSearchLimit) { return TooManyTraces("limit", n); }
        q.limit = static_cast<std::size_t>(n == 0 ? kDefaultSearchLimit : n);
    }
    return q;
}

Result<SearchQuery> QueryApi::ParseV3Search(const QueryParams& p) const {
    SearchQuery q;
    if (const auto* s = First(p, "query.service_name")) {
        q.service = *s;
    }
    if (const auto* s = First(p, "query.operation_name")) {
        q.operation = *s;
    }
    for (const auto& [k, v] : p) {
        if (k == "query.attributes" && !v.empty()) {
            if (Status st = AddTagsJson(v, &q); !st) {
                return st.error();
            }
        } else if (k.rfind("query.attributes[", 0) == 0 && k.back() == ']') {
            q.tags.emplace_back(k.substr(17, k.size() - 18), v);
        }
    }
    if (const auto* s = First(p, "query.start_time_min")) {
        if (!ParseRfc3339(*s, &q.start_min_ns)) {
            return Error{ErrorCode::kBadRequest, "cannot parse query.start_time_min (RFC 3339)"};
        }
    }
    if (const auto* s = First(p, "query.start_time_max")) {
        if (!ParseRfc3339(*s, &q.start_max_ns)) {
            return Error{ErrorCode::kBadRequest, "cannot parse query.start_time_max (RFC 3339)"};
        }
    }
    if (const auto* s = First(p, "query.duration_min")) {
        auto d = DurationNs(*s, "query.duration_min");
        if (!d) {
            return std::move(d).error();
        }
        q.min_duration_ns = *d;
    }
    if (const auto* s = First(p, "query.duration_max")) {
        auto d = DurationNs(*s, "query.duration_max");
        if (!d) {
            return std::move(d).error();
        }
        q.max_duration_ns = *d;
    }
    std::string_view depth_name = "query.search_depth";
    const std::string* n = First(p, depth_name);
    if (n == nullptr) {
        depth_name = "query.num_traces";
        n = First(p, depth_name);
    }
    if (n != nullptr) {
        std::int64_t v = 0;
        if (!ParseInt(*n, &v) || v < 0) {
            return Error{ErrorCode::kBadRequest, "cannot parse " + std::string(depth_name)};
        }
        if (v > kMaxSearchLimit) { return TooManyTraces(depth_name, v); }
        q.limit = static_cast<std::size_t>(v == 0 ? kDefaultSearchLimit : v);
    }
    return q;
}

ApiResponse QueryApi::Get(std::string_view path, const QueryParams& params) const {
    constexpr std::string_view kV3 = "/api/v3/";
    if (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);
    }
    if (path == "/api/services") {
        return Services();
    }
    if (path == "/api/operations") {
        return Operations(params);
    }
    if (path == "/api/traces") {
        return Traces(params);
    }
    if (path == "/api/trace-summaries") { return TraceSummaries(params); }
    if (path == "/api/dependencies") {
        return Dependencies(params);
    }
    if (path.rfind("/api/services/", 0) == 0 && path.size() > 25 &&
        path.substr(path.size() - 11) == "/operations") {
        return ServiceOperations(std::string(path.substr(14, path.size() - 25)));
    }
    if (path.rfind("/api/traces/", 0) == 0) {
        std::string_view rest = path.substr(12);
        if (rest.size() > 5 && rest.substr(rest.size() - 5) == "/logs") {
            return TraceLogs(rest.substr(0, rest.size() - 5), params);
        }
        if (rest.find('/') == std::string_view::npos) { return Trace(rest, params); }
    }
    if (path.rfind("/api/metrics/", 0) == 0) {
        std::string kind(path.substr(13));
        if (kind == "latencies" || kind == "calls" || kind == "errors") {
            return Metrics(kind, params);
        }
        if (kind == "minstep") {
            return ApiResponse{200, "application/json", R"({"minStep":60000})"};
        }
    }
    if (path.rfind(kV3, 0) == 0) {
        std::string_view rest = path.substr(kV3.size());
        if (rest == "services") {
            return V3Services();
        }
        if (rest == "operations") {
            return V3Operations(params);
        }
        if (rest == "traces") {
            return V3Traces(params, false);
        }
        if (rest == "trace-summaries") {
            return V3Traces(params, true);
        }
        if (rest.rfind("traces/", 0) == 0 && rest.find('/', 7) == std::string_view::npos) {
            return V3Trace(rest.substr(7), params);
        }
        return V3Error(404, "not found");
    }
    return V1Error(404, "not found");
}

ApiResponse QueryApi::Services() const {
    auto s = store_.Services();
    if (!s) {
        return V1Error(500, s.error().message);
    }
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& name : *s) {
        w.String(name);
    }
    w.EndArray();
    return V1Data(w, static_cast<std::int64_t>(s->size()));
}

ApiResponse QueryApi::ServiceOperations(const std::string& service) const {
    auto ops = store_.Operations(service);
    if (!ops) {
        return V1Error(500, ops.error().message);
    }
    std::vector<std::string> names;
    for (const auto& o : *ops) {
        names.push_back(o.name);
    }
    names.erase(std::unique(names.begin(), names.end()), names.end());
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& n : names) {
        w.String(n);
    }
    w.EndArray();
    return V1Data(w, static_cast<std::int64_t>(names.size()));
}

ApiResponse QueryApi::Operations(const QueryParams& params) const {
    const std::string* service = First(params, "service");
    if (service == nullptr) {
        return V1Error(400, "parameter 'service' is required");
    }
    int kind = -2;
    if (const auto* k = First(params, "spanKind")) {
        kind = SpanKindFromText(*k);
        if (kind < 0) {
            return V1Error(400, "unsupported 'spanKind'");
        }
    }
    auto ops = store_.Operations(*service);
    if (!ops) {
        return V1Error(500, ops.error().message);
    }
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    std::int64_t n = 0;
    for (const auto& o : *ops) {
        if (kind != -2 && o.kind != kind) {
            continue;
        }
        w.BeginObject().Key("name").String(o.name).Key("spanKind").String(SpanKindText(o.kind)).EndObject();
        ++n;
    }
    w.EndArray();
    return V1Data(w, n);
}

ApiResponse QueryApi::Traces(const QueryParams& params) const {
    std::vector<std::string> ids;
    for (const auto& raw : All(params, "traceID")) {
        std::string id;
        if (!ParseTraceId(raw, &id)) {
            return V1Error(400, "malformed traceID");
        }
        ids.push_back(id);
    }
    if (ids.empty()) {
        auto q = ParseV1Search(params);
        if (!q) {
            return V1Error(400, q.error().message);
        }
        auto found = store_.Search(*q);
        if (!found) {
            return V1Error(500, found.error().message);
        }
        for (const auto& s : *found) {
            ids.push_back(s.trace_id);
        }
    }
    auto limit = SpanLimit(params, max_trace_spans_);
    if (!limit) { return V1Error(400, limit.error().message); }
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    std::int64_t n = 0;
    std::int64_t omitted_total = 0;
    SpanBudget budget(*limit);
    for (const auto& id : ids) {
        std::int64_t omitted = 0;
        auto t = store_.GetTrace(id, budget.Next(), &omitted);
        if (!t) {
            return V1Error(500, t.error().message);
        }
        if (t->has_value()) {
            budget.Spend(**t);
            WriteJaegerTrace(w, **t, OmittedWarnings(omitted, *limit));
            omitted_total += omitted;
            ++n;
        }
    }
    w.EndArray();
    ApiResponse r = V1Data(w, n);
    r.spans_omitted = omitted_total;
    return r;
}

// flowex extra: the search of /api/traces (the same parameters, the same traces in the same
// order), answered from the index with one summary per trace instead of every span. A search
// page needs no more, and a trace of 200,000 spans in the results no longer costs 100 MB.
ApiResponse QueryApi::TraceSummaries(const QueryParams& params) const {
    if (First(params, "traceID") != nullptr) {
        return V1Error(
            400, "'traceID' is not a search here: GET /api/traces?traceID=… or /api/traces/{id}");
    }
    auto q = ParseV1Search(params);
    if (!q) { return V1Error(400, q.error().message); }
    auto found = store_.Search(*q);
    if (!found) { return V1Error(500, found.error().message); }
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& s : *found) { WriteTraceSummary(w, s); }
    w.EndArray();
    return V1Data(w, static_cast<std::int64_t>(found->size()));
}

ApiResponse QueryApi::Trace(std::string_view raw, const QueryParams& params) const {
    std::string id;
    if (!ParseTraceId(raw, &id)) {
        return V1Error(400, "malformed trace id");
    }
    auto limit = SpanLimit(params, max_trace_spans_);
    if (!limit) { return V1Error(400, limit.error().message); }
    std::int64_t omitted = 0;
    auto t = store_.GetTrace(id, *limit, &omitted);
    if (!t) {
        return V1Error(500, t.error().message);
    }
    if (!t->has_value()) {
        return V1Error(404, "trace not found");
    }
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    WriteJaegerTrace(w, **t, OmittedWarnings(omitted, *limit));
    w.EndArray();
    ApiResponse r = V1Data(w, 1);
    r.spans_omitted = omitted;
    return r;
}

ApiResponse QueryApi::TraceLogs(std::string_view raw, const QueryParams& params) const {
    std::string id;
    if (!ParseTraceId(raw, &id)) {
        return V1Error(400, "malformed trace id");
    }
    std::int64_t limit = max_trace_logs_;
    if (const std::string* s = First(params, "maxLogs");
        s != nullptr && (!ParseInt(*s, &limit) || limit < 0)) {
        return V1Error(400, "cannot parse 'maxLogs' (a number of log records; 0: all)");
    }
    std::int64_t omitted = 0;
    auto logs = store_.GetTraceLogs(id, limit, &omitted);
    if (!logs) {
        return V1Error(500, logs.error().message);
    }
    std::vector<std::string> warnings;
    if (omitted > 0) {
        warnings.push_back(std::to_string(omitted) +
                           " log records of this trace are left out: a response carries " +
                           std::to_string(limit) +
                           " (the first to arrive). Ask for more with ?maxLogs=N, or ?maxLogs=0 "
                           "for all");
    }
    ApiResponse r{200, "application/json", RenderTraceLogs(*logs, warnings)};
    r.logs_omitted = omitted;
    return r;
}

ApiResponse QueryApi::Dependencies(const QueryParams& params) const {
    std::int64_t end_ns = clock_.UnixNanos();
    std::int64_t lookback_ns = 24LL * 3600 * 1'000'000'000;
    if (const auto* s = First(params, "endTs");
        s != nullptr && !ParseTimeNs(*s, 1'000'000, &end_ns)) {
        return V1Error(400, "cannot parse 'endTs' (Unix milliseconds, 0 to 4e12)");
    }
    if (const auto* s = First(params, "lookback");
        s != nullptr && !ParseTimeNs(*s, 1'000'000, &lookback_ns)) {
        return V1Error(400, "cannot parse 'lookback' (milliseconds, 0 to 4e12)");
    }
    auto deps = store_.Dependencies(end_ns, lookback_ns);
    if (!deps) {
        return V1Error(500, deps.error().message);
    }
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& d : *deps) {
        w.BeginObject().Key("parent").String(d.parent).Key("child").String(d.child);
        w.Key("callCount").Int(d.calls).EndObject();
    }
    w.EndArray();
    return V1Data(w, static_cast<std::int64_t>(deps->size()));
}

ApiResponse QueryApi::Metrics(const std::string& kind, const QueryParams& params) const {
    SpmQuery q;
    q.services = All(params, "service");
    q.services.erase(std::remove(q.services.begin(), q.services.end(), std::string()),
                     q.services.end());
    q.end_ns = clock_.UnixNanos();
    if (const auto* s = First(params, "endTs");
        s != nullptr && !ParseTimeNs(*s, 1'000'000, &q.end_ns)) {
        return V1Error(400, "cannot parse 'endTs' (Unix milliseconds, 0 to 4e12)");
    }
    for (auto [name, field] : {std::pair{"lookback", &q.lookback_ns}, std::pair{"step", &q.step_ns},
                               std::pair{"ratePer", &q.rate_per_ns}}) {
        if (const auto* s = First(params, name);
            s != nullptr && (!ParseTimeNs(*s, 1'000'000, field) || *field == 0)) {
            return V1Error(400,
                           std::string("cannot parse '") + name + "' (milliseconds, 1 to 4e12)");
        }
    }
    if (const auto* s = First(params, "groupByOperation")) {
        q.group_by_operation = *s == "true" || *s == "1";
    }
    if (const auto* s = First(params, "quantile")) {
        char* end = nullptr;
        q.quantile = std::strtod(s->c_str(), &end);
        if (end == s->c_str() || *end != '\0' || !(q.quantile > 0 && q.quantile <= 1)) {
            return V1Error(400, "'quantile' must be in (0, 1]");
        }
    }
    for (const auto& k : All(params, "spanKind")) {
        int kind_value = SpanKindFromText(k);
        if (kind_value < 0) {
            return V1Error(400, "unsupported 'spanKind'");
        }
        q.span_kinds.push_back(kind_value);
    }
    if (q.lookback_ns / std::max<std::int64_t>(q.step_ns, 1) > 10'000) {
        return V1Error(400, "too many points: raise 'step' or lower 'lookback'");
    }
    return ApiResponse{200, "application/json", metrics_.Spm(kind, q)};
}

ApiResponse QueryApi::V3Services() const {
    auto s = store_.Services();
    if (!s) {
        return V3Error(500, s.error().message);
    }
    JsonWriter w;
    w.BeginObject().Key("services").BeginArray();
    for (const auto& name : *s) {
        w.String(name);
    }
    w.EndArray().EndObject();
    return ApiResponse{200, "application/json", w.Take()};
}

ApiResponse QueryApi::V3Operations(const QueryParams& params) const {
    const std::string* service = First(params, "service");
    if (service == nullptr) {
        return V3Error(400, "parameter 'service' is required");
    }
    int kind = -2;
    if (const auto* k = First(params, "span_kind")) {
        kind = SpanKindFromText(*k);
        if (kind < 0) {
            return V3Error(400, "unsupported 'span_kind'");
        }
    }
    auto ops = store_.Operations(*service);
    if (!ops) {
        return V3Error(500, ops.error().message);
    }
    JsonWriter w;
    w.BeginObject().Key("operations").BeginArray();
    for (const auto& o : *ops) {
        if (kind != -2 && o.kind != kind) {
            continue;
        }
        w.BeginObject().Key("name").String(o.name).Key("spanKind").String(SpanKindText(o.kind)).EndObject();
    }
    w.EndArray().EndObject();
    return ApiResponse{200, "application/json", w.Take()};
}

ApiResponse QueryApi::V3Trace(std::string_view raw, const QueryParams& params) const {
    std::string id;
    if (!ParseTraceId(raw, &id)) {
        return V3Error(400, "malformed trace id");
    }
    auto limit = SpanLimit(params, max_trace_spans_);
    if (!limit) { return V3Error(400, limit.error().message); }
    std::int64_t omitted = 0;
    auto t = store_.GetTrace(id, *limit, &omitted);
    if (!t) {
        return V3Error(500, t.error().message);
    }
    if (!t->has_value()) {
        return V3Error(404, "trace not found");
    }
    JsonWriter w;
    w.BeginObject().Key("result").BeginObject().Key("resourceSpans").BeginArray();
    WriteOtlpResourceSpans(w, **t);
    w.EndArray().EndObject().EndObject();
    ApiResponse r{200, "application/json", w.Take()};
    r.spans_omitted = omitted;
    return r;
}

ApiResponse QueryApi::V3Traces(const QueryParams& params, bool summaries) const {
    auto q = ParseV3Search(params);
    if (!q) {
        return V3Error(400, q.error().message);
    }
    auto limit = SpanLimit(params, max_trace_spans_);
    if (!limit) { return V3Error(400, limit.error().message); }
    auto found = store_.Search(*q);
    if (!found) {
        return V3Error(500, found.error().message);
    }
    std::int64_t omitted_total = 0;
    JsonWriter w;
    w.BeginObject().Key("result").BeginObject();
    if (summaries) {
        w.Key("traces").BeginArray();
        for (const auto& s : *found) {
            WriteTraceSummary(w, s);
        }
        w.EndArray();
    } else {
        w.Key("resourceSpans").BeginArray();
        SpanBudget budget(*limit);
        for (const auto& s : *found) {
            std::int64_t omitted = 0;
            auto t = store_.GetTrace(s.trace_id, budget.Next(), &omitted);
            if (!t) {
                return V3Error(500, t.error().message);
            }
            if (t->has_value()) {
                budget.Spend(**t);
                WriteOtlpResourceSpans(w, **t);
                omitted_total += omitted;
            }
        }
        w.EndArray();
    }
    w.EndObject().EndObject();
    ApiResponse r{200, "application/json", w.Take()};
    r.spans_omitted = omitted_total;
    return r;
}

}  // namespace flowex::collector
