#include "flowex/telemetry/metrics/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "flowex/telemetry/logs/logger.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"

namespace flowex::telemetry::metrics {
namespace {

void AppendValue(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
        out += std::to_string(static_cast<std::int64_t>(v));
    } else {
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof(buf), v);
        out.append(buf, r.ptr);
    }
}

void AppendEscapedLabel(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
}

void AppendHelp(std::string& out, const std::string& name, std::string_view help,
                std::string_view type) {
    out += "# HELP ";
    out += name;
    out.push_back(' ');
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    out += "\n# TYPE ";
    out += name;
    out.push_back(' ');
    out += type;
    out.push_back('\n');
}

// name{l1="v1",l2="v2"[,extra]} value
void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name,
                  std::string_view extra_value, double value) {
    out += name;
    bool any = false;
    for (std::size_t i = 0; i < names.size(); ++i) {
        out.push_back(any ? ',' : '{');
        any = true;
        out += names[i];
        out += "=\"";
        AppendEscapedLabel(out, values[i]);
        out.push_back('"');
    }
    if (!extra_name.empty()) {
        out.push_back(any ? ',' : '{');
        any = true;
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out.push_back('"');
    }
    if (any) {
        out.push_back('}');
    }
    out.push_back(' ');
    AppendValue(out, value);
    out.push_back('\n');
}

std::string FormatBound(double b) {
    std::string s;
    AppendValue(s, b);
    // Prometheus clients write le values as floats ("1.0"); keep integers distinguishable.
    if (s.find_first_of(".eE") == std::string::npos && s != "+Inf") {
        s += ".0";
    }
    return s;
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds) : bounds_(bounds) {
    std::sort(bounds_.begin(), bounds_.end());
    counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        counts_[i].store(0, std::memory_order_relaxed);
    }
}

void Histogram::Observe(double v) noexcept {
    const std::size_t i = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

const std::vector<double>& DefaultDurationBuckets() {
    static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                 0.5,   0.75, 1,     2.5,  5,     7.5, 10};
    return kBuckets;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
        if (e->name == name && e->counter) {
            return *e->counter;
        }
    }
    auto e = std::make_unique<Entry>();
    e->type = MetricType::kCounter;
    e->name = name;
    e->counter = std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                                   std::move(label_names));
    entries_.push_back(std::move(e));
    return *entries_.back()->counter;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
        if (e->name == name && e->gauge) {
            return *e->gauge;
        }
    }
    auto e = std::make_unique<Entry>();
    e->type = MetricType::kGauge;
    e->name = name;
    e->gauge = std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                               std::move(label_names));
    entries_.push_back(std::move(e));
    return *entries_.back()->gauge;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
        if (e->name == name && e->histogram) {
            return *e->histogram;
        }
    }
    auto e = std::make_unique<Entry>();
    e->type = MetricType::kHistogram;
    e->name = name;
    e->histogram = std::make_unique<Family<Histogram>>(
        std::move(name), std::move(help), std::move(label_names), std::move(bounds));
    entries_.push_back(std::move(e));
    return *entries_.back()->histogram;
}

void Registry::AddCallback(std::string name, std::string help, MetricType type,
                           std::function<std::vector<CallbackSample>()> collect) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
        if (e->name == name) {
            e->collect = std::move(collect);  // re-registration replaces the source
            return;
        }
    }
    auto e = std::make_unique<Entry>();
    e->type = type;
    e->name = std::move(name);
    e->help = std::move(help);
    e->collect = std::move(collect);
    entries_.push_back(std::move(e));
}

std::string Registry::Render() const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
        if (e->counter) {
            const auto& f = *e->counter;
            AppendHelp(out, f.Name(), f.Help(), "counter");
            f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
                AppendSample(out, f.Name(), f.LabelNames(), labels, {}, {}, c.Value());
            });
        } else if (e->gauge) {
            const auto& f = *e->gauge;
            AppendHelp(out, f.Name(), f.Help(), "gauge");
            f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
                AppendSample(out, f.Name(), f.LabelNames(), labels, {}, {}, g.Value());
            });
        } else if (e->histogram) {
            const auto& f = *e->histogram;
            AppendHelp(out, f.Name(), f.Help(), "histogram");
            const std::string bucket = f.Name() + "_bucket";
            const std::string sum = f.Name() + "_sum";
            const std::string count = f.Name() + "_count";
            f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i < h.Bounds().size(); ++i) {
                    cumulative += h.BucketCount(i);
                    AppendSample(out, bucket, f.LabelNames(), labels, "le",
                                 FormatBound(h.Bounds()[i]), static_cast<double>(cumulative));
                }
                cumulative += h.BucketCount(h.Bounds().size());
                AppendSample(out, bucket, f.LabelNames(), labels, "le", "+Inf",
                             static_cast<double>(cumulative));
                AppendSample(out, sum, f.LabelNames(), labels, {}, {}, h.Sum());
                AppendSample(out, count, f.LabelNames(), labels, {}, {},
                             static_cast<double>(cumulative));
            });
        } else if (e->collect) {
            AppendHelp(out, e->name, e->help,
                       e->type == MetricType::kCounter ? "counter" : "gauge");
            for (const auto& s : e->collect()) {
                std::vector<std::string> names;
                std::vector<std::string> values;
                for (const auto& [k, v] : s.labels) {
                    names.push_back(k);
                    values.push_back(v);
                }
                AppendSample(out, e->name, names, values, {}, {}, s.value);
            }
        }
    }
    return out;
}

Registry& Registry::Default() {
    static auto* registry = new Registry();  // leaked: scraped until the process exits
    return *registry;
}

// ---- process metrics ------------------------------------------------------------------------

namespace {

struct ProcStat {
    double cpu_seconds = 0;
    double start_time_seconds = 0;
    double virtual_bytes = 0;
    double resident_bytes = 0;
};

ProcStat ReadProcStat() {
    ProcStat s;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
        std::istringstream in(line.substr(close + 2));
        std::vector<std::string> f;
        std::string tok;
        while (in >> tok) {
            f.push_back(tok);
        }
        // Fields after "(comm)": index 0 is field 3 (state).
        if (f.size() > 21) {
            s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
            s.virtual_bytes = std::stod(f[20]);
            s.resident_bytes = std::stod(f[21]) * page;
            double btime = 0;
            std::ifstream proc_stat("/proc/stat");
            std::string key;
            while (proc_stat >> key) {
                if (key == "btime") {
                    proc_stat >> btime;
                    break;
                }
            }
            s.start_time_seconds = btime + std::stod(f[19]) / ticks;
        }
    }
    return s;
}

double OpenFds() {
    double n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (const dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') {
                n += 1;
            }
        }
        closedir(d);
        n -= 1;  // the directory handle itself
    }
    return n;
}

std::vector<CallbackSample> One(double v) { return {CallbackSample{{}, v}}; }

}  // namespace

void RegisterProcessMetrics(Registry& registry) {
    registry.AddCallback("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                         MetricType::kCounter, [] { return One(ReadProcStat().cpu_seconds); });
    registry.AddCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::kGauge, [] { return One(ReadProcStat().resident_bytes); });
    registry.AddCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::kGauge, [] { return One(ReadProcStat().virtual_bytes); });
    registry.AddCallback("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         MetricType::kGauge, [] { return One(ReadProcStat().start_time_seconds); });
    registry.AddCallback("process_open_fds", "Number of open file descriptors.", MetricType::kGauge,
                         [] { return One(OpenFds()); });
}

void RegisterSdkMetrics(Registry& registry, const sdk::TracerProvider& provider,
                        const logs::BatchLogProcessor* logs) {
    const auto* p = &provider;
    const auto stat = [p](auto field) {
        return [p, field] { return One(static_cast<double>(field(p->Stats()))); };
    };
    registry.AddCallback("otel_sdk_spans_started_total", "Recording spans started by the tracing SDK.",
                         MetricType::kCounter,
                         stat([](const sdk::TracerStats& s) { return s.spans_started; }));
    registry.AddCallback("otel_sdk_spans_exported_total", "Spans successfully exported.",
                         MetricType::kCounter,
                         stat([](const sdk::TracerStats& s) { return s.processor.exported; }));
    registry.AddCallback("otel_sdk_spans_dropped_total",
                         "Spans dropped because the export queue was full.", MetricType::kCounter,
                         stat([](const sdk::TracerStats& s) { return s.processor.dropped; }));
    registry.AddCallback("otel_sdk_spans_export_failed_total", "Spans in failed exports.",
                         MetricType::kCounter,
                         stat([](const sdk::TracerStats& s) { return s.processor.export_failed; }));
    registry.AddCallback("otel_sdk_span_export_failures_total", "Failed span export calls.",
                         MetricType::kCounter,
                         stat([](const sdk::TracerStats& s) { return s.processor.export_failures; }));
    registry.AddCallback("otel_sdk_span_queue_size", "Spans waiting in the batch export queue.",
                         MetricType::kGauge,
                         stat([](const sdk::TracerStats& s) { return s.processor.queue_size; }));
    registry.AddCallback("otel_sdk_span_queue_capacity", "Capacity of the batch export queue.",
                         MetricType::kGauge,
                         stat([](const sdk::TracerStats& s) { return s.processor.queue_capacity; }));
    if (logs != nullptr) {
        registry.AddCallback("otel_sdk_logs_exported_total", "Log records successfully exported.",
                             MetricType::kCounter,
                             [logs] { return One(static_cast<double>(logs->Stats().exported)); });
        registry.AddCallback("otel_sdk_logs_dropped_total",
                             "Log records dropped because the export queue was full.",
                             MetricType::kCounter,
                             [logs] { return One(static_cast<double>(logs->Stats().dropped)); });
        registry.AddCallback(
            "otel_sdk_log_export_failures_total", "Failed log export calls.", MetricType::kCounter,
            [logs] { return One(static_cast<double>(logs->Stats().export_failures)); });
        registry.AddCallback(
            "otel_sdk_log_queue_size", "Log records waiting in the batch export queue.",
            MetricType::kGauge,
            [logs] { return One(static_cast<double>(logs->Stats().queue_size)); });
        registry.AddCallback(
            "otel_sdk_log_queue_capacity", "Capacity of the log batch export queue.",
            MetricType::kGauge,
            [logs] { return One(static_cast<double>(logs->Stats().queue_capacity)); });
    }
}

Family<Histogram>& HttpServerDuration(Registry& registry) {
    return registry.AddHistogram("http_server_request_duration_seconds",
                                 "Duration of HTTP server requests.", {"method", "route", "status"});
}

}  // namespace flowex::telemetry::metrics
