#include "flowex/collector/render.hpp"

#include <algorithm>
#include <map>

namespace flowex::collector {

using common::JsonWriter;

namespace {

std::string Base64(std::string_view in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    while (i + 2 < in.size()) {
        std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                          (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
        i += 3;
    }
    if (i < in.size()) {
        std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) {
            n |= static_cast<unsigned char>(in[i + 1]) << 8;
        }
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

void WriteAnyJson(JsonWriter& w, const otlp_common::AnyValue& v);

// A value as plain JSON (for Jaeger string tags of arrays/maps and log attributes).
void WritePlainJson(JsonWriter& w, const otlp_common::AnyValue& v) {
    switch (v.value_case()) {
        case otlp_common::AnyValue::kStringValue: w.String(v.string_value()); break;
        case otlp_common::AnyValue::kBoolValue: w.Bool(v.bool_value()); break;
        case otlp_common::AnyValue::kIntValue: w.Int(v.int_value()); break;
        case otlp_common::AnyValue::kDoubleValue: w.Double(v.double_value()); break;
        case otlp_common::AnyValue::kBytesValue: w.String(Base64(v.bytes_value())); break;
        case otlp_common::AnyValue::kArrayValue:
            w.BeginArray();
            for (const auto& e : v.array_value().values()) {
                WritePlainJson(w, e);
            }
            w.EndArray();
            break;
        case otlp_common::AnyValue::kKvlistValue:
            w.BeginObject();
            for (const auto& kv : v.kvlist_value().values()) {
                w.Key(kv.key());
                WritePlainJson(w, kv.value());
            }
            w.EndObject();
            break;
        default: w.Null(); break;
    }
}

void WriteTag(JsonWriter& w, std::string_view key, const otlp_common::AnyValue& v) {
    w.BeginObject().Key("key").String(key);
    switch (v.value_case()) {
        case otlp_common::AnyValue::kBoolValue:
            w.Key("type").String("bool").Key("value").Bool(v.bool_value());
            break;
        case otlp_common::AnyValue::kIntValue:
            w.Key("type").String("int64").Key("value").Int(v.int_value());
            break;
        case otlp_common::AnyValue::kDoubleValue:
            w.Key("type").String("float64").Key("value").Double(v.double_value());
            break;
        case otlp_common::AnyValue::kBytesValue:
            w.Key("type").String("binary").Key("value").String(Base64(v.bytes_value()));
            break;
        case otlp_common::AnyValue::kStringValue:
            w.Key("type").String("string").Key("value").String(v.string_value());
            break;
        default: {
            JsonWriter inner;
            WritePlainJson(inner, v);
            w.Key("type").String("string").Key("value").String(inner.str());
            break;
        }
    }
    w.EndObject();
}

void WriteStringTag(JsonWriter& w, std::string_view key, std::string_view value) {
    w.BeginObject().Key("key").String(key).Key("type").String("string").Key("value").String(value).EndObject();
}

void WriteOtlpAttributes(JsonWriter& w, const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>& attrs) {
    w.BeginArray();
    for (const auto& kv : attrs) {
        w.BeginObject().Key("key").String(kv.key()).Key("value");
        WriteAnyJson(w, kv.value());
        w.EndObject();
    }
    w.EndArray();
}

void WriteAnyJson(JsonWriter& w, const otlp_common::AnyValue& v) {
    w.BeginObject();
    switch (v.value_case()) {
        case otlp_common::AnyValue::kStringValue: w.Key("stringValue").String(v.string_value()); break;
        case otlp_common::AnyValue::kBoolValue: w.Key("boolValue").Bool(v.bool_value()); break;
        case otlp_common::AnyValue::kIntValue: w.Key("intValue").String(std::to_string(v.int_value())); break;
        case otlp_common::AnyValue::kDoubleValue: w.Key("doubleValue").Double(v.double_value()); break;
        case otlp_common::AnyValue::kBytesValue: w.Key("bytesValue").String(Base64(v.bytes_value())); break;
        case otlp_common::AnyValue::kArrayValue:
            w.Key("arrayValue").BeginObject().Key("values").BeginArray();
            for (const auto& e : v.array_value().values()) {
                WriteAnyJson(w, e);
            }
            w.EndArray().EndObject();
            break;
        case otlp_common::AnyValue::kKvlistValue:
            w.Key("kvlistValue").BeginObject().Key("values");
            WriteOtlpAttributes(w, v.kvlist_value().values());
            w.EndObject();
            break;
        default: break;
    }
    w.EndObject();
}

std::int64_t Micros(std::uint64_t ns) { return static_cast<std::int64_t>(ns / 1000); }

const std::string* ServiceName(const otlp_resource::Resource& r) {
    for (const auto& kv : r.attributes()) {
        if (kv.key() == "service.name" && kv.value().has_string_value()) {
            return &kv.value().string_value();
        }
    }
    return nullptr;
}

}  // namespace

std::string SpanKindText(int kind) {
    switch (kind) {
        case 1: return "internal";
        case 2: return "server";
        case 3: return "client";
        case 4: return "producer";
        case 5: return "consumer";
        default: return "";
    }
}

int SpanKindFromText(std::string_view text) {
    std::string t(text);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t.rfind("span_kind_", 0) == 0) {
        t = t.substr(10);
    }
    for (int k = 1; k <= 5; ++k) {
        if (SpanKindText(k) == t) {
            return k;
        }
    }
    if (t == "unspecified") {
        return 0;
    }
    return -1;
}

void WriteJaegerTrace(JsonWriter& w, const otlp_trace::TracesData& trace,
                      const std::vector<std::string>& warnings) {
    // Processes: one per distinct resource.
    std::map<std::string, std::string> process_ids;  // serialized resource → "pN"
    std::vector<const otlp_resource::Resource*> processes;
    std::string trace_hex;
    struct Item {
        const otlp_trace::Span* span;
        const otlp_common::InstrumentationScope* scope;
        std::string process;
    };
    std::vector<Item> items;
    for (const auto& rs : trace.resource_spans()) {
        std::string key = rs.resource().SerializeAsString();
        auto [it, inserted] = process_ids.emplace(key, "");
        if (inserted) {
            processes.push_back(&rs.resource());
            it->second = "p" + std::to_string(processes.size());
        }
        for (const auto& ss : rs.scope_spans()) {
            for (const auto& span : ss.spans()) {
                items.push_back(Item{&span, &ss.scope(), it->second});
            }
        }
    }
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        return a.span->start_time_unix_nano() < b.span->start_time_unix_nano();
    });
    if (!items.empty()) {
        trace_hex = ToHex(items.front().span->trace_id());
    }
    w.BeginObject();
    w.Key("traceID").String(trace_hex);
    w.Key("spans").BeginArray();
    for (const Item& it : items) {
        const otlp_trace::Span& s = *it.span;
        w.BeginObject();
        w.Key("traceID").String(trace_hex);
        w.Key("spanID").String(ToHex(s.span_id()));
        w.Key("operationName").String(s.name());
        w.Key("references").BeginArray();
        if (!s.parent_span_id().empty()) {
            w.BeginObject().Key("refType").String("CHILD_OF").Key("traceID").String(trace_hex);
            w.Key("spanID").String(ToHex(s.parent_span_id())).EndObject();
        }
        for (const auto& l : s.links()) {
            w.BeginObject().Key("refType").String("FOLLOWS_FROM").Key("traceID").String(ToHex(l.trace_id()));
            w.Key("spanID").String(ToHex(l.span_id())).EndObject();
        }
        w.EndArray();
        w.Key("startTime").Int(Micros(s.start_time_unix_nano()));
        std::uint64_t end = std::max(s.end_time_unix_nano(), s.start_time_unix_nano());
        w.Key("duration").Int(Micros(end - s.start_time_unix_nano()));
        w.Key("tags").BeginArray();
        for (const auto& kv : s.attributes()) {
            WriteTag(w, kv.key(), kv.value());
        }
        if (!it.scope->name().empty()) {
            WriteStringTag(w, "otel.scope.name", it.scope->name());
        }
        if (!it.scope->version().empty()) {
            WriteStringTag(w, "otel.scope.version", it.scope->version());
        }
        if (std::string kind = SpanKindText(s.kind()); !kind.empty()) {
            WriteStringTag(w, "span.kind", kind);
        }
        if (s.status().code() == otlp_trace::Status::STATUS_CODE_ERROR) {
            w.BeginObject().Key("key").String("error").Key("type").String("bool").Key("value").Bool(true).EndObject();
            WriteStringTag(w, "otel.status_code", "ERROR");
        } else if (s.status().code() == otlp_trace::Status::STATUS_CODE_OK) {
            WriteStringTag(w, "otel.status_code", "OK");
        }
        if (!s.status().message().empty()) {
            WriteStringTag(w, "otel.status_description", s.status().message());
        }
        if (!s.trace_state().empty()) {
            WriteStringTag(w, "w3c.tracestate", s.trace_state());
        }
        w.EndArray();
        w.Key("logs").BeginArray();
        for (const auto& e : s.events()) {
            w.BeginObject().Key("timestamp").Int(Micros(e.time_unix_nano()));
            w.Key("fields").BeginArray();
            WriteStringTag(w, "event", e.name());
            for (const auto& kv : e.attributes()) {
                WriteTag(w, kv.key(), kv.value());
            }
            w.EndArray().EndObject();
        }
        w.EndArray();
        w.Key("processID").String(it.process);
        w.Key("warnings").Null();
        w.Key("flags").Int(static_cast<std::int64_t>(s.flags() & 0xFF));
        w.EndObject();
    }
    w.EndArray();
    w.Key("processes").BeginObject();
    for (std::size_t i = 0; i < processes.size(); ++i) {
        const auto& r = *processes[i];
        const std::string* svc = ServiceName(r);
        w.Key("p" + std::to_string(i + 1)).BeginObject();
        w.Key("serviceName").String(svc != nullptr ? *svc : "unknown_service");
        w.Key("tags").BeginArray();
        for (const auto& kv : r.attributes()) {
            if (kv.key() != "service.name") {
                WriteTag(w, kv.key(), kv.value());
            }
        }
        w.EndArray().EndObject();
    }
    w.EndObject();
    if (warnings.empty()) {
        w.Key("warnings").Null();
    } else {
        w.Key("warnings").BeginArray();
        for (const auto& text : warnings) { w.String(text); }
        w.EndArray();
    }
    w.EndObject();
}

void WriteOtlpResourceSpans(JsonWriter& w, const otlp_trace::TracesData& trace) {
    for (const auto& rs : trace.resource_spans()) {
        w.BeginObject();
        w.Key("resource").BeginObject().Key("attributes");
        WriteOtlpAttributes(w, rs.resource().attributes());
        if (rs.resource().dropped_attributes_count() != 0) {
            w.Key("droppedAttributesCount").Uint(rs.resource().dropped_attributes_count());
        }
        w.EndObject();
        w.Key("scopeSpans").BeginArray();
        for (const auto& ss : rs.scope_spans()) {
            w.BeginObject();
            w.Key("scope").BeginObject().Key("name").String(ss.scope().name());
            w.Key("version").String(ss.scope().version()).EndObject();
            w.Key("spans").BeginArray();
            for (const auto& s : ss.spans()) {
                w.BeginObject();
                w.Key("traceId").String(ToHex(s.trace_id()));
                w.Key("spanId").String(ToHex(s.span_id()));
                if (!s.parent_span_id().empty()) {
                    w.Key("parentSpanId").String(ToHex(s.parent_span_id()));
                }
                if (!s.trace_state().empty()) {
                    w.Key("traceState").String(s.trace_state());
                }
                if (s.flags() != 0) {
                    w.Key("flags").Uint(s.flags());
                }
                w.Key("name").String(s.name());
                w.Key("kind").Int(s.kind());
                w.Key("startTimeUnixNano").String(std::to_string(s.start_time_unix_nano()));
                w.Key("endTimeUnixNano").String(std::to_string(s.end_time_unix_nano()));
                w.Key("attributes");
                WriteOtlpAttributes(w, s.attributes());
                if (s.dropped_attributes_count() != 0) {
                    w.Key("droppedAttributesCount").Uint(s.dropped_attributes_count());
                }
                w.Key("events").BeginArray();
                for (const auto& e : s.events()) {
                    w.BeginObject().Key("timeUnixNano").String(std::to_string(e.time_unix_nano()));
                    w.Key("name").String(e.name()).Key("attributes");
                    WriteOtlpAttributes(w, e.attributes());
                    w.EndObject();
                }
                w.EndArray();
                w.Key("links").BeginArray();
                for (const auto& l : s.links()) {
                    w.BeginObject().Key("traceId").String(ToHex(l.trace_id()));
                    w.Key("spanId").String(ToHex(l.span_id())).Key("attributes");
                    WriteOtlpAttributes(w, l.attributes());
                    w.EndObject();
                }
                w.EndArray();
                w.Key("status").BeginObject();
                if (!s.status().message().empty()) {
                    w.Key("message").String(s.status().message());
                }
                if (s.status().code() != 0) {
                    w.Key("code").Int(s.status().code());
                }
                w.EndObject();
                w.EndObject();
            }
            w.EndArray().EndObject();
        }
        w.EndArray().EndObject();
    }
}

void WriteTraceSummary(JsonWriter& w, const TraceSummary& s) {
    w.BeginObject();
    w.Key("traceID").String(ToHex(s.trace_id));
    w.Key("rootService").String(s.root_service);
    w.Key("rootOperation").String(s.root_operation);
    w.Key("startTime").Int(s.start_ns / 1000);
    w.Key("duration").Int((s.end_ns - s.start_ns) / 1000);
    w.Key("spanCount").Int(s.span_count);
    w.Key("errorCount").Int(s.error_count);
    w.Key("services").BeginArray();
    for (const auto& c : s.services) {
        w.BeginObject().Key("name").String(c.name).Key("count").Int(c.spans).Key("errors").Int(c.errors).EndObject();
    }
    w.EndArray();
    w.EndObject();
}

std::string RenderTraceLogs(const otlp_logs::LogsData& logs,
                            const std::vector<std::string>& warnings) {
    struct Rec {
        const otlp_logs::LogRecord* rec;
        const std::string* service;
    };
    static const std::string kUnknown = "unknown_service";
    std::vector<Rec> recs;
    for (const auto& rl : logs.resource_logs()) {
        const std::string* svc = ServiceName(rl.resource());
        for (const auto& sl : rl.scope_logs()) {
            for (const auto& r : sl.log_records()) {
                recs.push_back(Rec{&r, svc != nullptr ? svc : &kUnknown});
            }
        }
    }
    auto time_of = [](const otlp_logs::LogRecord* r) {
        return r->time_unix_nano() != 0 ? r->time_unix_nano() : r->observed_time_unix_nano();
    };
    std::stable_sort(recs.begin(), recs.end(), [&](const Rec& a, const Rec& b) { return time_of(a.rec) < time_of(b.rec); });
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const Rec& r : recs) {
        w.BeginObject();
        w.Key("timestamp").Int(static_cast<std::int64_t>(time_of(r.rec) / 1000));
        std::string sev = r.rec->severity_text();
        if (sev.empty()) {
            int n = r.rec->severity_number();
            sev = n >= 21 ? "FATAL" : n >= 17 ? "ERROR" : n >= 13 ? "WARN" : n >= 9 ? "INFO" : n >= 5 ? "DEBUG" : n >= 1 ? "TRACE" : "INFO";
        }
        w.Key("severity").String(sev);
        w.Key("body");
        if (r.rec->body().has_string_value()) {
            w.String(r.rec->body().string_value());
        } else {
            JsonWriter inner;
            WritePlainJson(inner, r.rec->body());
            w.String(r.rec->has_body() ? inner.str() : std::string());
        }
        w.Key("attributes").BeginObject();
        for (const auto& kv : r.rec->attributes()) {
            w.Key(kv.key());
            WritePlainJson(w, kv.value());
        }
        w.EndObject();
        w.Key("spanID").String(ToHex(r.rec->span_id()));
        w.Key("traceID").String(ToHex(r.rec->trace_id()));
        w.Key("service").String(*r.service);
        w.EndObject();
    }
    w.EndArray();
    if (!warnings.empty()) {
        w.Key("warnings").BeginArray();
        for (const auto& text : warnings) { w.String(text); }
        w.EndArray();
    }
    w.EndObject();
    return w.Take();
}

}  // namespace flowex::collector
