#include "flowex/collector/red_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "flowex/common/clock.hpp"
#include "flowex/common/json.hpp"

namespace flowex::collector {

namespace {

constexpr double kBoundsMs[RedMetrics::kBuckets] = {1,    2,    5,    10,   25,    50,   100,
                                                    250,  500,  1000, 2500, 5000, 10000, INFINITY};
constexpr std::int64_t kMinuteNs = 60LL * 1'000'000'000;

const char* KindLabel(int kind) {
    switch (kind) {
        case 1: return "SPAN_KIND_INTERNAL";
        case 2: return "SPAN_KIND_SERVER";
        case 3: return "SPAN_KIND_CLIENT";
        case 4: return "SPAN_KIND_PRODUCER";
        case 5: return "SPAN_KIND_CONSUMER";
        default: return "SPAN_KIND_UNSPECIFIED";
    }
}

void AppendLabelValue(std::string* out, const std::string& v) {
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out->push_back('\\');
            out->push_back(c);
        } else if (c == '\n') {
            out->append("\\n");
        } else {
            out->push_back(c);
        }
    }
}

std::string Num(double v) {
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

RedMetrics::Series& RedMetrics::SeriesOf(const SpanFact& f) {
    const std::tuple<std::string_view, std::string_view, int> view{f.service, f.operation, f.kind};
    if (auto it = series_.find(view); it != series_.end()) { return it->second; }
    if (series_.size() < max_series_) {
        return series_.try_emplace(Key{f.service, f.operation, f.kind}).first->second;
    }
    return overflow_[f.kind];
}

void RedMetrics::Record(const std::vector<SpanFact>& facts, const std::vector<TraceSummary>& new_traces) {
    std::lock_guard lock(mu_);
    Series* last = nullptr;
    const SpanFact* last_fact = nullptr;
    for (const SpanFact& f : facts) {
        Series* s = last;
        if (last_fact == nullptr || last_fact->service != f.service || last_fact->operation != f.operation ||
            last_fact->kind != f.kind) {
            s = &SeriesOf(f);
        }
        last = s;
        last_fact = &f;
        double ms = static_cast<double>(f.duration_ns) / 1e6;
        int b = 0;
        while (b < kBuckets - 1 && ms > kBoundsMs[b]) {
            ++b;
        }
        s->calls += 1;
        s->errors += f.error ? 1 : 0;
        s->sum_seconds += ms / 1000.0;
        s->buckets[b] += 1;
        std::int64_t minute = f.start_ns / kMinuteNs;
        Minute& m = s->minutes[static_cast<std::size_t>(minute % kMinutes)];
        if (m.minute != minute) {
            if (m.minute > minute) {
                continue;  // older than the ring holds
            }
            m = Minute{};
            m.minute = minute;
        }
        m.calls += 1;
        m.errors += f.error ? 1 : 0;
        m.buckets[b] += 1;
    }
    for (const TraceSummary& t : new_traces) {
        if (auto it = traces_per_service_.find(t.root_service); it != traces_per_service_.end()) {
            it->second += 1;
        } else if (traces_per_service_.size() < max_series_) {
            traces_per_service_.emplace(t.root_service, 1);
        } else {
            overflow_traces_ += 1;
        }
    }
}

void RedMetrics::AppendPrometheus(std::string* out) const {
    std::lock_guard lock(mu_);
    // Every series with its labels: the kept ones, then the overflow series of each span kind.
    std::vector<std::pair<std::string, const Series*>> all;
    all.reserve(series_.size() + overflow_.size());
    for (const auto& [k, s] : series_) {
        std::string l = "service=\"";
        AppendLabelValue(&l, std::get<0>(k));
        l += "\",operation=\"";
        AppendLabelValue(&l, std::get<1>(k));
        l += "\",span_kind=\"";
        l += KindLabel(std::get<2>(k));
        l += "\"";
        all.emplace_back(std::move(l), &s);
    }
    for (const auto& [kind, s] : overflow_) {
        all.emplace_back(
            std::string("otel_metric_overflow=\"true\",span_kind=\"") + KindLabel(kind) + "\"", &s);
    }
    *out += "# HELP flowex_span_calls_total Spans received, per service, operation and span kind.\n";
    *out += "# TYPE flowex_span_calls_total counter\n";
    for (const auto& [l, s] : all) {
        *out += "flowex_span_calls_total{" + l + "} " + std::to_string(s->calls) + "\n";
    }
    *out += "# HELP flowex_span_errors_total Spans with status ERROR.\n";
    *out += "# TYPE flowex_span_errors_total counter\n";
    for (const auto& [l, s] : all) {
        *out += "flowex_span_errors_total{" + l + "} " + std::to_string(s->errors) + "\n";
    }
    *out += "# HELP flowex_span_duration_seconds Span durations.\n";
    *out += "# TYPE flowex_span_duration_seconds histogram\n";
    for (const auto& [l, s] : all) {
        std::int64_t cum = 0;
        for (int b = 0; b < kBuckets; ++b) {
            cum += s->buckets[b];
            *out += "flowex_span_duration_seconds_bucket{" + l + ",le=\"" +
                    (b == kBuckets - 1 ? std::string("+Inf") : Num(kBoundsMs[b] / 1000.0)) + "\"} " +
                    std::to_string(cum) + "\n";
        }
        *out += "flowex_span_duration_seconds_sum{" + l + "} " + Num(s->sum_seconds) + "\n";
        *out += "flowex_span_duration_seconds_count{" + l + "} " + std::to_string(s->calls) + "\n";
    }
    *out += "# HELP flowex_traces_received_total New traces, per root service.\n";
    *out += "# TYPE flowex_traces_received_total counter\n";
    for (const auto& [svc, n] : traces_per_service_) {
        std::string l;
        AppendLabelValue(&l, svc);
        *out += "flowex_traces_received_total{service=\"" + l + "\"} " + std::to_string(n) + "\n";
    }
    if (overflow_traces_ > 0) {
        *out += "flowex_traces_received_total{otel_metric_overflow=\"true\"} " +
                std::to_string(overflow_traces_) + "\n";
    }
}

std::string RedMetrics::Spm(const std::string& kind, const SpmQuery& q) const {
    std::vector<int> kinds = q.span_kinds.empty() ? std::vector<int>{2} : q.span_kinds;
    std::int64_t step = std::max<std::int64_t>(q.step_ns, kMinuteNs);
    std::int64_t rate_per = std::max<std::int64_t>(q.rate_per_ns, kMinuteNs);
    std::int64_t end = q.end_ns;
    std::int64_t begin = end - q.lookback_ns;

    struct Agg {
        std::map<std::int64_t, Minute> minutes;  // minute → merged
    };
    std::map<std::pair<std::string, std::string>, Agg> groups;
    {
        std::lock_guard lock(mu_);
        for (const auto& [k, s] : series_) {
            const auto& [svc, op, knd] = k;
            if (std::find(kinds.begin(), kinds.end(), knd) == kinds.end()) {
                continue;
            }
            if (!q.services.empty() && std::find(q.services.begin(), q.services.end(), svc) == q.services.end()) {
                continue;
            }
            Agg& a = groups[{svc, q.group_by_operation ? op : std::string()}];
            for (const Minute& m : s.minutes) {
                if (m.minute < 0) {
                    continue;
                }
                Minute& t = a.minutes[m.minute];
                t.minute = m.minute;
                t.calls += m.calls;
                t.errors += m.errors;
                for (int b = 0; b < kBuckets; ++b) {
                    t.buckets[b] += m.buckets[b];
                }
            }
        }
    }
    common::JsonWriter w;
    std::string name = kind == "latencies" ? "service_latencies"
                       : kind == "calls"   ? "service_call_rate"
                                           : "service_error_rate";
    if (q.group_by_operation) {
        name = kind == "latencies" ? "service_operation_latencies"
               : kind == "calls"   ? "service_operation_call_rate"
                                   : "service_operation_error_rate";
    }
    w.BeginObject();
    w.Key("name").String(name);
    w.Key("type").String("GAUGE");
    w.Key("help").String(kind == "latencies" ? "latency quantile in milliseconds, from span durations"
                         : kind == "calls"   ? "calls per second, from spans"
                                             : "error rate (0..1), from spans");
    w.Key("metrics").BeginArray();
    for (const auto& [gk, agg] : groups) {
        w.BeginObject();
        w.Key("labels").BeginArray();
        w.BeginObject().Key("name").String("service_name").Key("value").String(gk.first).EndObject();
        if (q.group_by_operation) {
            w.BeginObject().Key("name").String("operation").Key("value").String(gk.second).EndObject();
        }
        w.EndArray();
        w.Key("metricPoints").BeginArray();
        for (std::int64_t t = begin + step; t <= end; t += step) {
            std::int64_t hi = t / kMinuteNs;
            std::int64_t lo = (t - rate_per) / kMinuteNs;
            Minute sum;
            for (auto it = agg.minutes.upper_bound(lo); it != agg.minutes.end() && it->first <= hi; ++it) {
                sum.calls += it->second.calls;
                sum.errors += it->second.errors;
                for (int b = 0; b < kBuckets; ++b) {
                    sum.buckets[b] += it->second.buckets[b];
                }
            }
            double value = 0;
            bool present = sum.calls > 0;
            if (kind == "calls") {
                value = static_cast<double>(sum.calls) / (static_cast<double>(rate_per) / 1e9);
            } else if (kind == "errors") {
                value = present ? static_cast<double>(sum.errors) / static_cast<double>(sum.calls) : 0;
            } else if (present) {
                // Quantile from the histogram, linear within the bucket.
                double target = q.quantile * static_cast<double>(sum.calls);
                double cum = 0;
                for (int b = 0; b < kBuckets; ++b) {
                    double next = cum + static_cast<double>(sum.buckets[b]);
                    if (next >= target && sum.buckets[b] > 0) {
                        double lower = b == 0 ? 0 : kBoundsMs[b - 1];
                        double upper = std::isinf(kBoundsMs[b]) ? lower * 2 : kBoundsMs[b];
                        double frac = (target - cum) / static_cast<double>(sum.buckets[b]);
                        value = lower + (upper - lower) * std::clamp(frac, 0.0, 1.0);
                        break;
                    }
                    cum = next;
                }
            }
            if (kind == "latencies" && !present) {
                continue;  // no data: no point (Jaeger leaves gaps as NaN points are dropped)
            }
            w.BeginObject();
            w.Key("gaugeValue").BeginObject().Key("doubleValue").Double(value).EndObject();
            w.Key("timestamp").String(common::FormatRfc3339(t));
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return w.Take();
}

}  // namespace flowex::collector
